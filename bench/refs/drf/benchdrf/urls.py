"""``/v1/items`` and ``/v1/items/<id>``, as Bastion serves them."""

from catalog.views import ItemViewSet
from rest_framework.routers import SimpleRouter

router = SimpleRouter(trailing_slash=False)
router.register("v1/items", ItemViewSet)
urlpatterns = router.urls
