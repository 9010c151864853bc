"""An in-process stand-in for a Serve handle, over a real object."""

from __future__ import annotations

from typing import Any


class Handle:
    """``handle.method.remote(*args)`` -> ``await obj.method(*args)``, as a Serve handle."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def options(self, **_: Any) -> Handle:
        return self

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)

        class Remote:
            @staticmethod
            def remote(*args: Any, **kwargs: Any) -> Any:
                return method(*args, **kwargs)

        return Remote()
