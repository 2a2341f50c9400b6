# Sourced by the Azure tests (after lib.sh): Microsoft's Azurite (npm, scripts/setup) on 127.0.0.1
# with its development account, and an independent client for it (azure-blob.py). start_azurite
# starts it with its data in $SCRATCH/azurite and creates the container "images"; az runs the client
# with the account key, whatever credentials the test gives baker.
command -v azurite-blob >/dev/null || skip "azurite-blob not installed (npm install -g azurite: scripts/setup)"

AZ=$BAKER_SOURCE_DIR/tests/integration/azure-blob.py
ACCOUNT=devstoreaccount1
# Azurite's published development key (not a secret).
DEV_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
unset AZURE_STORAGE_KEY AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_SAS_TOKEN

az() { AZURE_STORAGE_KEY=$DEV_KEY python3 "$AZ" "$ENDPOINT" $ACCOUNT "$@"; }

start_azurite() {
  PORT=$(free_port)
  timeout 600 azurite-blob --blobHost 127.0.0.1 --blobPort "$PORT" --location "$SCRATCH/azurite" --skipApiVersionCheck \
    --silent --disableTelemetry </dev/null >"$SCRATCH/azurite.log" 2>&1 &
  track_pid $!
  wait_for 60 "azurite on port $PORT" bash -c "echo 2>/dev/null > /dev/tcp/127.0.0.1/$PORT"
  ENDPOINT=http://127.0.0.1:$PORT
  az create-container images
}
