#!/bin/sh
# Enables Vault's transit engine once the dev server answers; Aerie creates its signing key itself.
set -eu
until vault status >/dev/null 2>&1; do sleep 1; done
vault secrets list | grep -q '^transit/' || vault secrets enable transit
