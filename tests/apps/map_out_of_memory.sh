# A data file that cannot be mapped for lack of memory (ENOMEM from mmap; here an address-space
# limit below the file's size) gives an error that says memory, not one that blames the file.
source "$(dirname "$0")/lib.bash" "$@"
truncate -s 3G big.tfrecord # sparse: no disk used
out=$( (
  ulimit -v 1500000
  "$BIN/y8m-inspect" big.tfrecord
) 2>&1) && fail "mapping 3 GB under a 1.5 GB address-space limit succeeded"
echo "$out"
grep -Eq '^y8m-inspect: out of memory: mapping the 3221225472 bytes of big.tfrecord failed \(mmap: ENOMEM' <<<"$out" ||
  fail "the error does not say memory"
echo map enomem ok
