#!/usr/bin/env bash
# The checks that need a GPU, run once on a machine with a CUDA device from the
# repository root (no install: the source tree on PYTHONPATH, the machine's own
# torch): the CUDA tests, training throughput, and the speed tables with aekit's
# networks on the GPU (the peers on the CPU). Each part has its own time limit and
# writes its output to a file in $OUT (default ./gpu-out).
#
#     bash benchmarks/gpu.sh                  # every part
#     bash benchmarks/gpu.sh speed images     # these parts only
set -u
only=" $* "
out=${OUT:-gpu-out}
mkdir -p "$out"
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
part() {  # part NAME SECONDS COMMAND...: run it, keep its output, report its exit status
    local name=$1 limit=$2
    shift 2
    if [ "$only" != "  " ] && [[ "$only" != *" $name "* ]]; then return; fi
    local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.txt" 2>&1
    echo "$name: exit $? after $((SECONDS - start)) s" | tee -a "$out/parts.txt"
}
part machine 60 bash -c "nvidia-smi; $py -c 'import torch; print(torch.__version__, torch.cuda.get_device_name())'"
part tests 150 "$py" -m pytest -q -p no:cacheprovider tests/test_cuda.py
part throughput 100 "$py" benchmarks/throughput.py --device cuda --rows 16384 --epochs 3 --repeats 3
part speed 200 "$py" benchmarks/speed.py --device cuda --threads 2 --no-missforest \
    --only tables vae detector --tables iris stocks modechoice breast_cancer randhie
part images "${IMAGES_LIMIT:-320}" "$py" benchmarks/speed.py --device cuda --threads 2 \
    --only images --full-images
tail -n 3 "$out"/*.txt
