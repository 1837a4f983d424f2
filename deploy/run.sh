#!/usr/bin/env bash
# Start SIPAS_PROCESSES dashboard processes on 127.0.0.1:SIPAS_APP_PORT.. and nginx in front on
# SIPAS_LISTEN (sticky by cookie; see deploy/nginx.conf). Stops everything when one of them exits
# or on SIGTERM, so a supervisor (Docker, systemd) can restart the set.
#
#   SIPAS_PROCESSES=2 SIPAS_LISTEN=0.0.0.0:8080 deploy/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${SIPAS_PROCESSES:-$(nproc)}
BASE=${SIPAS_APP_PORT:-8501}
LISTEN=${SIPAS_LISTEN:-8080}
RUN=${SIPAS_RUNTIME:-${TMPDIR:-/tmp}/sipas-run}
NGINX_BIN=${SIPAS_NGINX:-nginx}  # not $NGINX: nginx reads that variable itself
PYTHON=${PYTHON:-python}
mkdir -p "$RUN"

# The same cookie secret in every process, so an XSRF token signed by one is valid in another.
if [ -z "${STREAMLIT_SERVER_COOKIE_SECRET:-}" ]; then
  STREAMLIT_SERVER_COOKIE_SECRET=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')
fi
export STREAMLIT_SERVER_COOKIE_SECRET

# Build the demo release once, before the processes start (they would race to build it).
"$PYTHON" -c 'import sys; from sipas_data.release import list_releases; sys.exit(0 if list_releases() else 1)' \
  || "$PYTHON" -m sipas_data demo

pids=()
cleanup() {
  trap - TERM INT EXIT
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait || true
}
trap cleanup TERM INT EXIT

servers=""
for i in $(seq 0 $((N - 1))); do
  port=$((BASE + i))
  "$PYTHON" -m streamlit run app.py --server.address 127.0.0.1 --server.port "$port" --server.headless true &
  pids+=($!)
  servers+="        server 127.0.0.1:${port} max_fails=3 fail_timeout=10s;"$'\n'
done

# wait until every process answers its health check (the first run imports everything)
for i in $(seq 0 $((N - 1))); do
  for _ in $(seq 1 240); do
    if "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:$((BASE + i))/_stcore/health', timeout=1)" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
done

# nginx serves Streamlit's built assets itself: a copy of them in the runtime folder, with a
# gzip twin of each text file (read by gzip_static), made once per Streamlit version. The twins are
# written by zopfli when it is installed (requirements.txt): 3-4 % smaller than gzip -9 and read by
# every browser, for about 20 s of work on two cores once per version. nginx's
# workers must be able to read the runtime folder (started as root, they run as nobody); when
# they cannot, the assets are asked of the app processes and compressed on the fly.
"$PYTHON" - "$RUN" "$LISTEN" "$servers" <<'PY'
import gzip
import os
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import streamlit

try:
    import zopfli.gzip
except ImportError:  # gzip -9: a little larger, the same format
    zopfli = None


def write_twin(path: Path) -> None:
    data = path.read_bytes()
    packed = zopfli.gzip.compress(data, numiterations=1) if zopfli else gzip.compress(data, 9, mtime=0)
    path.with_name(path.name + ".gz").write_bytes(packed)


if __name__ == "__main__":
    run, listen, servers = sys.argv[1:4]
    source = Path(streamlit.__file__).parent / "static"
    assets = Path(run, f"assets-{streamlit.__version__}-{'zopfli' if zopfli else 'gzip'}")
    if not (assets / "static").is_dir():
        part = Path(run, f".assets-{os.getpid()}")
        shutil.rmtree(part, ignore_errors=True)
        shutil.copytree(source / "static", part / "static")
        texts = [f for f in (part / "static").rglob("*")
                 if f.suffix in (".js", ".mjs", ".css", ".json", ".map", ".svg", ".txt", ".wasm")
                 and f.stat().st_size > 1024]
        texts.sort(key=lambda f: -f.stat().st_size)  # the largest first: the pool ends together
        with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(write_twin, texts))
        shutil.rmtree(assets, ignore_errors=True)
        part.rename(assets)
    # per-page copies of index.html naming the chunk each page draws first (deploy/preload.py);
    # written on every start, so that an edit of its table needs no new copy of the assets
    sys.path.insert(0, "deploy")
    import preload
    preload.write_pages(assets / "static", assets / "pages", (source / "index.html").read_text(encoding="utf-8"))
    conf = Path("deploy/nginx.conf").read_text(encoding="utf-8")
    conf = (conf.replace("__RUN__", run).replace("__LISTEN__", listen).replace("__ASSETS__", str(assets))
            .replace("__SERVERS__\n", servers))
    Path(run, "nginx.conf").write_text(conf, encoding="utf-8")
PY
"$NGINX_BIN" -t -q -c "$RUN/nginx.conf"
"$NGINX_BIN" -c "$RUN/nginx.conf" -g 'daemon off;' &
pids+=($!)
echo "SIPAS: $N processes on 127.0.0.1:$BASE.. behind nginx on $LISTEN" >&2

# one process gone: stop the others and exit non-zero (the supervisor restarts the set)
wait -n
exit 1
