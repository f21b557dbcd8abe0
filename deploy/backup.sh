#!/bin/sh
# backup.sh DATABASE DIRECTORY [DAYS]: a pg_dump of DATABASE (custom format: compressed,
# restored table by table with pg_restore) into DIRECTORY/DATABASE-<UTC time>.dump, written
# under a temporary name and renamed once whole; dumps older than DAYS (default 14) are
# deleted. Connection from libpq's environment (PGHOST, PGUSER …), else the local socket as
# the user running it. Restore: docs/deploy.md, "Restore".
set -eu
database=${1:?usage: backup.sh DATABASE DIRECTORY [DAYS]}
directory=${2:?usage: backup.sh DATABASE DIRECTORY [DAYS]}
days=${3:-14}
umask 077
mkdir -p "$directory"
file="$directory/$database-$(date -u +%Y%m%dT%H%M%SZ).dump"
trap 'rm -f "$file.partial"' EXIT  # a failed dump leaves no half file behind
pg_dump --format=custom --file="$file.partial" "$database"
mv "$file.partial" "$file"
find "$directory" -maxdepth 1 -name "$database-*.dump" -mtime "+$days" -delete
echo "$file"
