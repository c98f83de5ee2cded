"""Run the fake services in the foreground: ``python -m connectors.fakes [BASE_PORT]``."""

from __future__ import annotations

import sys
import time

from connectors.fakes.server import start_fake_services

if __name__ == "__main__":
    fakes = start_fake_services(base_port=int(sys.argv[1]) if len(sys.argv) > 1 else 5100)
    for key, value in fakes.environ().items():
        if key.endswith("PRIVATE_KEY"):
            continue
        print(f"{key}={value}")
    print("(the demo passes the generated private key to the portal directly)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fakes.stop()
