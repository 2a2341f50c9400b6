#!/bin/sh
# Runs inside the image being baked: leaves a marker the boot test can look for.
set -eu
mkdir -p /etc/baker
echo "hello from baker" > /etc/baker/hello
