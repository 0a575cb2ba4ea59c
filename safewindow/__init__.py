"""safewindow: when an aesthetic treatment is safe, and booking it only then."""

import zoneinfo

# British Columbia moved to permanent UTC-7 on 2026-11-01. Host zone databases lag behind and would put
# a 10:00 winter visit an hour off, so zoneinfo reads only the pinned `tzdata` package, whatever the host has.
zoneinfo.reset_tzpath(to=())
zoneinfo.ZoneInfo.clear_cache()

__version__ = "0.1.0"
