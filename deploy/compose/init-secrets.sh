#!/usr/bin/env bash
# Writes the secrets of the compose stack beside compose.yaml, once: a
# PostgreSQL password, the key-encryption key (32 random bytes, base64, as
# waybill keys new-kek writes it), the Ed25519 audit signing key, and .env
# with the database URL. Existing files are kept: losing the encryption
# key makes the data sealed under it unreadable. Needs openssl.
#
# The files are readable by all (0644), as the containers read them as
# their own users (65532 for the hub, 999 for PostgreSQL) through bind
# mounts; the directory that holds them is its owner's only (0700).
set -euo pipefail
cd "$(dirname "$0")"
umask 022
mkdir -p secrets
chmod 0700 secrets
[ -s secrets/postgres-password ] || openssl rand -hex 24 >secrets/postgres-password
[ -s secrets/encryption.key ] || openssl rand -base64 32 >secrets/encryption.key
[ -s secrets/audit-signing.pem ] || openssl genpkey -algorithm ed25519 -out secrets/audit-signing.pem
chmod 0644 secrets/postgres-password secrets/encryption.key secrets/audit-signing.pem
if [ ! -s .env ]; then
  (umask 077 && printf 'WAYBILL_STORAGE_DATABASE_URL=postgres://waybill:%s@postgres:5432/waybill?sslmode=disable\n' \
    "$(cat secrets/postgres-password)" >.env)
fi
echo "secrets in $(pwd)/secrets and $(pwd)/.env"
