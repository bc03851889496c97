# Shells running each other: busybox sh -> bash -> zsh -> sh, with exit
# statuses and output coming back through pipes and $(...).
out=$(bash -c 'echo "bash ${BASH_VERSINFO[0]} says $(zsh -c '"'"'echo zsh ${ZSH_VERSION%%.*} says $(sh -c "echo sh")'"'"')"')
echo "$out"
bash -c 'exit 7'; echo "bash exit $?"
zsh -c 'exit 9'; echo "zsh exit $?"
sh -c 'kill -TERM $$'; echo "sh killed by TERM: $?"
echo "piped" | bash -c 'read x; echo "bash read $x"' | zsh -c 'read y; print "zsh read: $y"'
sash -c 'echo sash echo'
exec bash -c 'echo "exec replaced sh"; exit 4'
