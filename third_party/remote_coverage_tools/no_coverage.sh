#!/bin/sh
# Offline stand-in for Bazel's coverage tools: muppy does not run coverage.
echo "muppy: coverage tools are not available offline (third_party/remote_coverage_tools)" >&2
exit 1
