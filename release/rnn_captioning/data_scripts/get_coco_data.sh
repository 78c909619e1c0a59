#!/bin/sh
# Fetch the real COCO captioning data: a wrapper of get_coco_data.py (see --help).
exec "${PYTHON:-python3}" "$(dirname "$0")/get_coco_data.py" "$@"
