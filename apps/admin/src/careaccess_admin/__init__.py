"""careaccess-admin: the local administrator's web UI, built on the careaccess library.

Start it with ``careaccess-admin serve``; embed it with :func:`create_app`.
"""

from __future__ import annotations

from careaccess_admin.admins import Admin, hash_password, load_admins
from careaccess_admin.app import create_app

__all__ = ["Admin", "create_app", "hash_password", "load_admins"]

__version__ = "0.1.0"
