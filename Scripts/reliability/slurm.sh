#!/usr/bin/env bash
# A real scheduler: starts a single-node Slurm (Debian's slurm-wlm and munge, as root, no
# systemd needed), submits Examples/geocam-slurm-array.sh as a 4-task job array over a 640×640
# crop of the demo scene, then the merge as a dependent job exactly as the example says, and
# compares the merged files with a single `geocam explain` run of the same command (rasters
# and PNG byte-identical, JSON identical except invocation fields). Also checks the Kubernetes
# example (Indexed Job, --shards = completions, the index variable). Ends with one verdict line.
#
#   sudo Scripts/reliability/slurm.sh        (installs slurm-wlm and munge when missing)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
WORK=${SLURM_WORK:-$ROOT/.build/slurm}
GEOCAM_BIN=$ROOT/.build/release
[ -x "$GEOCAM_BIN/geocam" ] || swift build -c release --product geocam >&2
rm -rf "$WORK"
mkdir -p "$WORK"

# Kubernetes example: parse it and check what a scheduler needs.
python3 - Examples/geocam-indexed-job.yaml <<'PY'
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
job = docs[0]
spec = job["spec"]
assert job["kind"] == "Job" and spec["completionMode"] == "Indexed", "not an Indexed Job"
cmd = spec["template"]["spec"]["containers"][0]["command"]
shards = [c for c in cmd if str(c).startswith("--shards=")]
assert shards and int(shards[0].split("=")[1]) == spec["completions"], "--shards must equal completions"
assert spec["template"]["spec"]["restartPolicy"] == "Never"
merge = [d for d in docs[1:] if d.get("kind") == "Job"]
assert merge and "merge" in merge[0]["spec"]["template"]["spec"]["containers"][0]["command"], "no merge Job"
print("slurm: Kubernetes example: Indexed Job, --shards=%d = completions, JOB_COMPLETION_INDEX, merge Job: ok" % spec["completions"], file=sys.stderr)
PY

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm: installing slurm-wlm and munge" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

HOST=$(hostname -s)
cleanup() {
  pkill -x slurmctld 2>/dev/null || true
  pkill -x slurmd 2>/dev/null || true
  [ -n "${MUNGE_STARTED:-}" ] && pkill -x munged 2>/dev/null || true
}
trap cleanup EXIT

# munge: a key and the daemon.
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chmod 400 /etc/munge/munge.key
# Working means a credential round-trips (a pid could be a zombie of an earlier run).
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  munged --force
  MUNGE_STARTED=1
fi

# One node, one partition; no cgroups (containers), root as the Slurm user.
CONF=/etc/slurm/slurm.conf
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cat >"$CONF" <<CONFEOF
ClusterName=geocam
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONFEOF
pkill -x slurmctld 2>/dev/null || true
pkill -x slurmd 2>/dev/null || true
sleep 1
slurmctld -c
slurmd
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qE "idle|mix" && break
  sleep 1
done
sinfo -h -o "%P %D %T" >&2

# Input: a 640×640 crop of the demo scene (4 blocks of 256 → shares of real work).
gdal_translate -q -srcwin 300 300 640 640 Tiles/demo-main.tif "$WORK/crop.tif"
CKPT=$ROOT/Checkpoints/geocam-demo-fpn-resnext50_32x4d.safetensors
EXTRA="--methods gradcam --quiet"
export PATH="$GEOCAM_BIN:$PATH"
export GEOCAM_INPUT=$WORK/crop.tif GEOCAM_OUTPUT=$WORK/out/city.tif GEOCAM_CHECKPOINT=$CKPT GEOCAM_EXTRA=$EXTRA
cd "$WORK"
mkdir -p logs  # Slurm opens --output before the script runs: the folder must exist first
started=$(date +%s)
jobid=$(sbatch --parsable --array=0-3%2 --cpus-per-task=1 --mem=2G --time=00:30:00 --export=ALL \
  "$ROOT/Examples/geocam-slurm-array.sh")
mergeid=$(sbatch --parsable --dependency=afterok:"$jobid" --cpus-per-task=1 --mem=2G --export=ALL \
  --output="$WORK/logs/merge-%j.out" --wrap "geocam merge $WORK/out/city.tif")
echo "slurm: submitted array $jobid (4 tasks) and merge $mergeid" >&2
for _ in $(seq 600); do
  squeue -h -j "$jobid,$mergeid" 2>/dev/null | grep -q . || break
  sleep 2
done
elapsed=$(( $(date +%s) - started ))
state=$(scontrol show job "$mergeid" 2>/dev/null | grep -o 'JobState=[A-Z]*' | head -1 || true)
cd "$ROOT"
if [ ! -f "$WORK/out/city.json" ]; then
  echo "slurm: FAIL — the merge did not finish ($(scontrol show job "$jobid" 2>/dev/null | grep -o 'JobState=[A-Z]*' | sort | uniq -c | tr -s ' ' | tr '\n' ';'))"
  scancel "$mergeid" 2>/dev/null || true
  tail -5 "$WORK"/logs/*.out 2>/dev/null >&2 || true
  exit 1
fi

# The same command in one process.
mkdir -p "$WORK/single"
geocam explain "$WORK/crop.tif" --output "$WORK/single/city.tif" --checkpoint "$CKPT" --overlap 64 --normalize scene $EXTRA >/dev/null
same=1
for ext in tif probs.tif classes.tif quicklook.png; do
  cmp -s "$WORK/single/city.$ext" "$WORK/out/city.$ext" || { echo "slurm: differs: city.$ext" >&2; same=0; }
done
norm() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d.pop(k,None) for k in ("seconds","tiles","blocks","warnings","status","mergedParts","shard","outputs")]; print(json.dumps(d,sort_keys=True))' "$1"; }
[ "$(norm "$WORK/single/city.json")" = "$(norm "$WORK/out/city.json")" ] || { echo "slurm: differs: city.json" >&2; same=0; }
parts=$(ls "$WORK"/out/city.part-*-of-4.json 2>/dev/null | wc -l)
if ((same)); then
  echo "slurm: PASS — Slurm $(sinfo -V | awk '{print $2}') job array of 4 shares + dependent merge ($state) in ${elapsed} s on one node; $parts parts merged; the merged files equal a single run's; Kubernetes example checked"
else
  echo "slurm: FAIL — the merged files differ from a single run's"
  exit 1
fi
