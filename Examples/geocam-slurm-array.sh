#!/usr/bin/env bash
# GeoCAM over a whole city as a Slurm job array.
#
#   mkdir -p logs    # Slurm opens --output before this script runs
#   jobid=$(sbatch --parsable Examples/geocam-slurm-array.sh)
#   sbatch --dependency=afterok:"$jobid" --wrap "geocam merge /scratch/geocam/cape_town.tif"
#
# Each array task computes share SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of
# SLURM_ARRAY_TASK_COUNT (geocam reads them itself) and writes
# /scratch/geocam/cape_town.part-I-of-32.*. Requeue or resubmit a failed index with the same
# command and it resumes from /scratch/geocam/cape_town.geocam/part-I-of-32/.
# /scratch must be visible to every node (the merge reads all parts).
#
#SBATCH --job-name=geocam-cape-town
#SBATCH --array=0-31%8
#SBATCH --cpus-per-task=4
#SBATCH --mem=6G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=logs/geocam-%A_%a.out
set -euo pipefail

# Edit these, or set them in the environment sbatch passes on (Scripts/reliability/slurm.sh does).
INPUT=${GEOCAM_INPUT:-/data/cape_town_2023_8cm.vrt}
OUTPUT=${GEOCAM_OUTPUT:-/scratch/geocam/cape_town.tif}
CHECKPOINT=${GEOCAM_CHECKPOINT:-/models/solar_fpn.ckpt}

mkdir -p "$(dirname "$OUTPUT")" logs
export GDAL_CACHEMAX=512                      # MB of GDAL block cache
export GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR

# Not a terminal: progress is a plain line every 30 s in the log.
geocam explain "$INPUT" --output "$OUTPUT" \
  --checkpoint "$CHECKPOINT" \
  --overlap 64 \
  --normalize scene ${GEOCAM_EXTRA:-}
