#!/bin/sh
# build.sh -- install what Kiln needs (Debian/Ubuntu), build it, and
# optionally run the tests.
#
#   ./build.sh              install packages, configure, build
#   ./build.sh test         ... then run every test: the default build, the
#                           checked build (--enable-checked) and the
#                           ASan+UBSan build (--enable-sanitizers), each in
#                           its own build directory, all with --enable-werror;
#                           then the default build's tests again under
#                           Valgrind's Memcheck (make check-valgrind) at
#                           KILN_TEST_SCALE=0.1 unless KILN_TEST_SCALE is set;
#                           then the ThreadSanitizer build (--enable-tsan)
#                           and its threaded suites (make check-tsan)
#
# Packages are installed only when missing (apt-get, via sudo when not root).
set -eu
cd "$(dirname "$0")"

PKGS="build-essential autoconf automake libtool pkg-config liblua5.4-dev lua5.4 check
libffi-dev valgrind libgc-dev libmimalloc-dev libjemalloc-dev gnuplot-nox"

install_packages() {
  missing=""
  for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "build.sh: installing:$missing" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
}

# build DIR [configure flags...]: configure and build out of tree in DIR.
build() {
  dir=$1
  shift
  mkdir -p "$dir"
  if ! (cd "$dir" && ../configure "$@" >configure.out 2>&1); then
    cat "$dir/configure.out"
    exit 1
  fi
  make -C "$dir" -j"$(nproc)" >/dev/null
}

check() {
  dir=$1
  shift
  build "$dir" "$@"
  echo "build.sh: make check in $dir ($*)" >&2
  make -C "$dir" -j"$(nproc)" check || { cat "$dir"/tests/*.log "$dir"/test-suite.log 2>/dev/null | tail -80; exit 1; }
}

install_packages
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
case "${1:-}" in
  test)
    check build --enable-werror
    check build-checked --enable-werror --enable-checked
    check build-asan --enable-werror --enable-sanitizers
    # Memcheck slows the tests 20-50x: a tenth of the work keeps every test
    # (about 4 minutes on 2 cores) and CI well inside its budget.
    echo "build.sh: make check-valgrind in build" >&2
    KILN_TEST_SCALE=${KILN_TEST_SCALE:-0.1} make -C build -j"$(nproc)" check-valgrind ||
      { cat build/test-suite-valgrind.log 2>/dev/null | tail -80; exit 1; }
    # ThreadSanitizer: only the suites with several threads (check-tsan
    # builds and runs just those; about two minutes on 2 cores).
    build build-tsan --enable-werror --enable-tsan
    echo "build.sh: make check-tsan in build-tsan" >&2
    make -C build-tsan -j"$(nproc)" check-tsan ||
      { cat build-tsan/tests/*.log 2>/dev/null | tail -80; exit 1; }
    echo "build.sh: all test builds passed" >&2
    ;;
  "")
    build build
    echo "build.sh: built in ./build" >&2
    ;;
  *)
    echo "usage: ./build.sh [test]" >&2
    exit 2
    ;;
esac
