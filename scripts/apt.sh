# Sourced by the install scripts: apt_install installs the Debian packages given (only when root and
# allowed: LIVESHOP_INSTALL_SYSTEM=no skips it), else says what to install.
apt_install() {
  [ $# -gt 0 ] || return 0
  if [ "${LIVESHOP_INSTALL_SYSTEM:-auto}" = "no" ]; then
    echo "$(basename "$0"): not installing (LIVESHOP_INSTALL_SYSTEM=no): $*" >&2
  elif [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "$(basename "$0"): please install: $*" >&2
  fi
}
