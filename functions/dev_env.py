"""Print a development .env with fresh random secrets (used by `make run`)."""

import secrets

from portal.secret_box import new_key_b64


def main() -> None:
    print(f"ENGINE_ISE_ADMIN_TOKEN={secrets.token_urlsafe(32)}")
    print("LIBERVIA_DATA_DIR=./var")
    print("ENGINE_PORT=8700")
    print("ENGINE_URL=http://127.0.0.1:8700")
    print("CONSOLE_PORT=8600")
    print(f"CONSOLE_SESSION_SECRET={secrets.token_urlsafe(32)}")
    print(f"CONSOLE_ENCRYPTION_KEY={new_key_b64()}")
    print("AGENT_DIST_DIR=./dist/agent")


if __name__ == "__main__":
    main()
