from django.db import models


class Tag(models.Model):
    name = models.CharField(max_length=30, unique=True)

class Item(models.Model):
    name = models.CharField(max_length=50)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    qty = models.PositiveIntegerField(default=0)
    data = models.JSONField(default=dict)
    tags = models.ManyToManyField(Tag)
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE)
