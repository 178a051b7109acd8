"""Print a development .env with fresh random secrets (used by `make run`)."""

import secrets


def main() -> None:
    print(f"ENGINE_ISE_ADMIN_TOKEN={secrets.token_urlsafe(32)}")
    print("LIBERVIA_DATA_DIR=./var")
    print("ENGINE_PORT=8700")


if __name__ == "__main__":
    main()
