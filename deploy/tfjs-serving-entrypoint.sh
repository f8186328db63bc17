#!/bin/sh
# The container's command line, like tensorflow/serving's tf_serving_entrypoint.sh:
#   tensorflow_model_server --port=8500 --rest_api_port=8501 \
#     --model_name=${MODEL_NAME} --model_base_path=${MODEL_BASE_PATH}/${MODEL_NAME} "$@"
# Extra container args are appended (e.g. --model_config_file=/config/models.config, which then wins
# over --model_name/--model_base_path, as in TF Serving).
set -e
APP_DIR="$(cd "$(dirname "$0")/.." && pwd)"
exec node "$APP_DIR/bin/tfjs-serving.js" serve \
  --port="${GRPC_PORT:-8500}" \
  --rest_api_port="${REST_API_PORT:-8501}" \
  --model_name="${MODEL_NAME:-model}" \
  --model_base_path="${MODEL_BASE_PATH:-/models}/${MODEL_NAME:-model}" \
  "$@"
