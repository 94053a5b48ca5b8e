# chroot-mounts.sh: sourced by scripts/ci/chroot-tests.sh and scripts/bench/in-chroot.sh, the one place that says
# what a test or bench chroot sees: the host's /proc (bind), /sys and /dev (rbind), a fresh /tmp and /run (tmpfs)
# and the checkout at its own path (bind). Run it in a private mount namespace (unshare --mount --propagation
# private): the mounts go away with it.
#   chroot_mounts ROOT REPO [MOUNT_CMD]   MOUNT_CMD (default: mount) takes mount's arguments, target last, so a caller
#                                         can record what it mounted (chroot-tests.sh unmounts in reverse order).
chroot_mounts() {
  local root=$1 repo=$2 mnt=${3:-mount}
  "$mnt" --bind /proc "$root/proc"
  "$mnt" --rbind /sys "$root/sys"
  "$mnt" --rbind /dev "$root/dev"
  "$mnt" -t tmpfs -o mode=1777 tmpfs "$root/tmp"
  "$mnt" -t tmpfs -o mode=755 tmpfs "$root/run"
  mkdir -p "$root$repo"
  "$mnt" --bind "$repo" "$root$repo"
}
