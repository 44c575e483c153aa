"""One ModelViewSet with django-filter, ordering and cursor pagination: DRF as documented."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.pagination import CursorPagination

from catalog.models import Item


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "id",
            "created_at",
            "updated_at",
            "version",
            "sku",
            "name",
            "description",
            "status",
            "price",
            "quantity",
            "featured",
            "released_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "version"]

    def update(self, instance, validated_data):
        # Bastion bumps the version on every accepted write; so does this reference.
        instance.version += 1
        return super().update(instance, validated_data)


class ItemPagination(CursorPagination):
    # Keyset pages like Bastion's (no COUNT); ?ordering= from OrderingFilter takes over.
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = 100
    ordering = "id"


class ItemViewSet(viewsets.ModelViewSet):
    queryset = Item.objects.all()
    serializer_class = ItemSerializer
    pagination_class = ItemPagination
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_fields = ["status", "quantity"]
    ordering_fields = ["price", "quantity", "released_at"]
