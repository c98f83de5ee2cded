"""Unbound extension objects, bound to the app in :func:`portale.create_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf import CSRFProtect

from portale.db import Database

db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
api = Api()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
