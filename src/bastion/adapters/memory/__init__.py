"""In-process adapters: state kept in this process's memory, for one worker or as a fallback."""

from bastion.adapters.memory.throttle import MemoryLoginThrottle

__all__ = ["MemoryLoginThrottle"]
