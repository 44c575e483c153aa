"""Bastion's ``items`` table, mapped as it is (``managed = False``: Bastion made it)."""

import uuid

from django.db import models


class Item(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.BigIntegerField(default=1)
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(max_length=2000, null=True, blank=True)
    status = models.CharField(
        max_length=64,
        choices=[("draft", "draft"), ("active", "active"), ("archived", "archived")],
        default="draft",
    )
    price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.BigIntegerField(default=0, null=True)
    featured = models.BooleanField(default=False, null=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        managed = False
        db_table = "items"
