#!/bin/bash
# Written for the streaming change (issue 15 items 1-2). old: a copy of commit 197e327 (git archive 197e327 | tar -x -C /tmp/stream-old);
# new: branch stream. MODEL: python cli.py train /work/shared/data/conll2003 -m /tmp/stream-model.pt --epochs 1 --threads 1.
# FILE: the sentences of CoNLL-2003 train.txt joined one a line, twice (28,082 lines, 407,242 tokens). Usage: streaming-ab.sh file|pipe
# A/B: old = /work/main (197e327), new = /work/wt/stream; alternating, 3 rounds each
M=/tmp/stream-model.pt F=/tmp/stream-bench.txt
for i in 1 2 3; do
  for side in old new; do
    dir=/tmp/stream-old; [ $side = new ] && dir=/work/wt/stream
    cd $dir
    if [ "$1" = pipe ]; then
      s=$( { TAGGER_THREADS=1 /usr/bin/time -f "%e s wall %U+%S cpu %M KB" bash -c "cat $F | python cli.py tag -m $M > /dev/null" ; } 2>&1 | tail -1 )
    else
      s=$( { TAGGER_THREADS=1 /usr/bin/time -f "%e s wall %U+%S cpu %M KB" python cli.py tag -m $M $F > /dev/null ; } 2>&1 | tail -1 )
    fi
    echo "$1 $side run$i: $s  (load $(cut -d' ' -f1 /proc/loadavg))"
  done
done
