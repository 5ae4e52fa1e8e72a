"""`make client-ts`: the API's OpenAPI document as the TypeScript client is generated from it.

python -m docqueue_devstack.openapi PATH
"""

import json
import sys
from pathlib import Path

from docqueue_api.app import create_app
from docqueue_api.settings import ApiSettings


def document() -> str:
    return json.dumps(create_app(ApiSettings()).openapi(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    Path(argv[0]).write_text(document())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
