#!/bin/sh
# Mosquitto in docker-compose, with the password and ACL files Aerie generates from its device
# credentials (AERIE_MOSQUITTO_AUTH_DIR, bridge/auth/mosquitto-auth-sync.ts) in a volume shared with
# this container. Mosquitto wants those files owned by the user it runs as, and re-reads them only on
# SIGHUP; so this waits for Aerie's first files, installs copies with that owner, starts mosquitto, and
# installs + signals again whenever Aerie rewrites them (a device provisioned or revoked).
# POSIX sh: runs on the image's busybox and on Debian's dash (test/bridge/mosquitto-compose.test.ts).
SOURCE="${AERIE_AUTH_SOURCE:-/aerie-auth}"
TARGET="${MOSQUITTO_AUTH_DIR:-/mosquitto/auth}"
CONFIG="${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}"
OWNER="${MOSQUITTO_OWNER:-mosquitto}"
POLL_SECONDS="${AUTH_POLL_SECONDS:-2}"
MOSQUITTO="${MOSQUITTO_BIN:-mosquitto}"

fingerprint() { cat "$SOURCE/passwd" "$SOURCE/acl" 2>/dev/null | cksum; }

install_files() {
  mkdir -p "$TARGET" || return 1
  for name in passwd acl; do
    cp "$SOURCE/$name" "$TARGET/$name.new" && chown "$OWNER" "$TARGET/$name.new" && chmod 0600 "$TARGET/$name.new" && mv "$TARGET/$name.new" "$TARGET/$name" || return 1
  done
}

until [ -s "$SOURCE/passwd" ] && [ -s "$SOURCE/acl" ]; do
  echo "waiting for Aerie's password and ACL files in $SOURCE"
  sleep "$POLL_SECONDS"
done
install_files || { echo "cannot install the auth files into $TARGET" >&2; exit 1; }
installed=$(fingerprint)

"$MOSQUITTO" -c "$CONFIG" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
while kill -0 "$pid" 2>/dev/null; do
  # Backgrounded so that a TERM interrupts the wait at once.
  sleep "$POLL_SECONDS" &
  wait $! 2>/dev/null
  current=$(fingerprint)
  if [ "$current" != "$installed" ] && install_files; then
    installed=$current
    kill -HUP "$pid" 2>/dev/null
  fi
done
wait "$pid"
