#!/bin/sh
# test_layers.sh -- the layers of the tree depend one way only:
#   core -> pools -> bindings -> plans -> lua
# (core/ and include/kiln.h; pools/; bindings/, include/kiln/desc.h and
# include/kiln/lua.h; plans/ and include/kiln/heap.h; lua/, the Lua module
# and the program). A file may include headers of its own layer and of the
# layers below it, never of one above: that is what keeps libkiln free of
# Lua and libffi and lets each layer build once. Lua's headers belong to
# bindings/ and above; libffi's and dlopen's to lua/ alone.
#
# Also checks the build lines: a folder's local.mk links (LIBADD, LDADD) no
# library of a higher layer, and sets compiler and linker flags only of its
# own folder's targets. Each failure names the file, the line and the
# header or library, and says what to do. Run by `make check` with
# KILN_SRCDIR; `sh tests/cli/test_layers.sh` from the top of the tree works
# too.
. "${KILN_SRCDIR:-.}/tests/cli/shlib.sh"
top=$(cd "${KILN_SRCDIR:-.}" && pwd)

LAYERS="core pools bindings plans lua"

# rank NAME: the position of layer NAME in LAYERS (1 = lowest).
rank() {
  n=0
  for l in $LAYERS; do
    n=$((n + 1))
    [ "$l" = "$1" ] && { echo $n; return; }
  done
  echo 0
}

# layer_of PATH: the layer a path below the top owns, or nothing.
layer_of() {
  case $1 in
    include/kiln.h | core/*) echo core ;;
    pools/*) echo pools ;;
    include/kiln/desc.h | include/kiln/lua.h | bindings/*) echo bindings ;;
    include/kiln/heap.h | plans/*) echo plans ;;
    lua/*) echo lua ;;
  esac
}

# system_layer HEADER: the lowest layer that may include a system header.
system_layer() {
  case $1 in
    lua.h | lauxlib.h | lualib.h | luaconf.h) echo bindings ;;
    ffi.h | dlfcn.h) echo lua ;;
  esac
}

# resolve DIR HEADER: where an #include "HEADER" of a file in DIR lands, as
# a path below the top, searched as the build does: the file's folder,
# the top, include/, core/. Nothing when it is none of them (config.h).
resolve() {
  for base in "$1" . include core; do
    if [ -f "$top/$base/$2" ]; then
      d=$(cd "$top/$base/$(dirname "$2")" && pwd)
      echo "${d#"$top"/}/$(basename "$2")"
      return
    fi
  done
}

# An include of a higher layer's header.
check_file() {
  f=$1
  own=$(layer_of "$f")
  dir=$(dirname "$f")
  sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"]\)\([^>"]*\)[>"].*/\1 \2/p' \
    "$top/$f" >"$tmp/inc"
  while read -r kind h; do
    if [ "$kind" = '<' ]; then
      to=$(system_layer "$h")
      [ -n "$to" ] || { [ -f "$top/include/$h" ] && to=$(layer_of "include/$h"); }
      target="<$h>"
    else
      p=$(resolve "$dir" "$h")
      [ -n "$p" ] || continue
      to=$(layer_of "$p")
      target=$p
    fi
    [ -n "$to" ] || continue
    if [ "$(rank "$to")" -gt "$(rank "$own")" ]; then
      fail "$f (layer $own) includes $target (layer $to): a lower layer never includes a" \
        "higher layer's header; move what it needs into layer $own or below, or the file up"
    fi
  done <"$tmp/inc"
}

# A library of a higher layer, linked by a lower layer's local.mk.
lib_layer() {
  case $1 in
    *'$(FFI_LIBS)'* | *'$(DL_LIBS)'* | *libkiln_lua.la* | *KILN_LUA_MODULE_LIBS_*) echo lua ;;
    *libkiln_heap_core.la* | *KILN_HEAP_LIBS_*) echo plans ;;
    *'$(LUA_LIBS)'*) echo bindings ;;
  esac
}

check_local_mk() {
  own=$1
  mk=$own/local.mk
  [ -f "$top/$mk" ] || return 0
  canon=$(echo "$own" | tr -c 'a-zA-Z0-9_\n' '_')
  grep -n '_\(LIBADD\|LDADD\)[[:space:]]*+*=' "$top/$mk" >"$tmp/libs" || true
  while IFS= read -r line; do
    to=$(lib_layer "$line")
    [ -n "$to" ] || continue
    if [ "$(rank "$to")" -gt "$(rank "$own")" ]; then
      fail "$mk:${line%%:*} links a library of layer $to from layer $own: link only" \
        "layers at or below $own"
    fi
  done <"$tmp/libs"
  grep -n '^[A-Za-z_%]*_\(CFLAGS\|CPPFLAGS\|LDFLAGS\|LIBADD\|LDADD\)[[:space:]]*+*=' \
    "$top/$mk" >"$tmp/flags" || true
  while IFS= read -r line; do
    var=${line#*:}
    case $var in
      "%canon_reldir%_"* | "${canon}_"*) ;;
      *) fail "$mk:${line%%:*} sets ${var%%[ +=]*} of a target outside $own/: each" \
        "local.mk sets the flags of its own folder's targets only" ;;
    esac
  done <"$tmp/flags"
}

# libkiln (core, pools, descriptor formats) is built and linked without Lua
# and libffi: Makefile.am gives its libraries neither their flags nor libs.
check_libkiln() {
  grep -n '^libkiln\(_core\)*_la_[A-Z]*[[:space:]]*+*=.*\(LUA\|FFI\|DL\)_' \
    "$top/Makefile.am" >"$tmp/core" || true
  while IFS= read -r line; do
    var=${line#*:}
    fail "Makefile.am:${line%%:*} gives ${var%%[ +=]*} Lua, libffi or dlopen: libkiln" \
      "needs none of them; build what needs them in a higher layer's library"
  done <"$tmp/core"
}
check_libkiln

files=0
for layer in $LAYERS; do
  for f in "$top/$layer"/*.c "$top/$layer"/*.h; do
    [ -f "$f" ] || continue
    check_file "${f#"$top"/}"
    files=$((files + 1))
  done
  check_local_mk "$layer"
done
for f in "$top"/include/kiln.h "$top"/include/kiln/*.h; do
  [ -f "$f" ] || continue
  check_file "${f#"$top"/}"
  files=$((files + 1))
done
[ "$files" -gt 20 ] || fail "only $files files were checked under $top: is KILN_SRCDIR the top of the tree?"

finish test_layers
