#!/bin/bash
# Submit the grading array (grade-array.sbatch), then the merge (merge.sbatch),
# which waits until every shard has succeeded. Run it from the folder that is
# to hold logs/. sbatch passes this environment on to both jobs, so REPO,
# SUBMISSIONS, GRADES, SEED and SHARDS set here reach them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p logs
job=$(sbatch --parsable "$here/grade-array.sbatch")
job=${job%%;*}  # "id;cluster" on a federation
merge=$(sbatch --parsable --dependency=afterok:"$job" "$here/merge.sbatch")
merge=${merge%%;*}
echo "grading: job $job (seed ${SEED:-$job}); merge: job $merge, once every shard has succeeded"
