"""The Redis adapter: state shared by every worker, kept in a Redis server."""

from bastion.adapters.redis.client import redis_from_url
from bastion.adapters.redis.throttle import RedisLoginThrottle

__all__ = ["RedisLoginThrottle", "redis_from_url"]
