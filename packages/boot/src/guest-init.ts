import { WALK_FUNCTION } from './guest-walk.js';

/** Serial numbers the host gives the virtio disks; the init finds its devices by them. */
export const SERIAL = { lower: 'fstools-lower', upper: 'fstools-upper', out: 'fstools-out' } as const;

/** Every line the init means for the host starts with this; the rest of the console is the kernel's. */
export const MARKER = '@@fstools:';

/** Where the init expects things inside the initramfs. */
export const GUEST_PATHS = {
  moduleOrder: '/lib/modules/order',
  lower: '/lower',
  upperfs: '/upperfs',
  merged: '/newroot',
  out: '/out',
} as const;

export interface InitOptions {
  /**
   * Mount the lower disk (EROFS, read-only), the upper disk (ext4) and assemble the overlay at
   * /newroot the way a sandbox runtime does (upperdir and workdir on the ext4), before the job.
   */
  mount: boolean;
  /** Shell commands run after the mounts (cwd /). What they leave in /out goes to the host. */
  job: string;
}

/**
 * The initramfs's /init (busybox sh). Markers it prints (one per line, `@@fstools:<word> ...`):
 *   ready           mounts done, the job starts (the host's boot time ends here)
 *   error WHAT MSG  something failed; `klog` lines with the kernel's messages follow
 *   klog LINE       a kernel log line
 *   done            results written, filesystems unmounted cleanly, powering off
 * Mounts are "loud" (busybox mounts silently by default) so the kernel says why one fails.
 * Jobs may print their own markers with `say`. `die MSG` reports an error and powers off.
 */
export function guestInit(opts: InitOptions): string {
  return `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp ${GUEST_PATHS.out}
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "${MARKER}$*"; }
klog() { dmesg | tail -n 12 | while IFS= read -r l; do say "klog $l"; done; }
# The console's last lines may still sit in the serial driver's buffer when poweroff -f makes the
# kernel print "reboot: Power down" straight to the port, in the middle of them: let it drain first.
die() { say "error $*"; klog; sleep 1; poweroff -f; sleep 5; }
${WALK_FUNCTION}
${diskFunction()}
if [ -s ${GUEST_PATHS.moduleOrder} ]; then
  while IFS= read -r m; do
    case $m in
      *.xz) unxz -c "$m" > /tmp/module.ko ;;
      *.gz) gunzip -c "$m" > /tmp/module.ko ;;
      *) cp "$m" /tmp/module.ko ;;
    esac && insmod /tmp/module.ko || die "module $m did not load"
  done < ${GUEST_PATHS.moduleOrder}
  rm -f /tmp/module.ko
fi
${opts.mount ? mountSection() : ''}
OUT=$(disk ${SERIAL.out})
say ready
cd /
${opts.job}
cd /
if [ -n "$OUT" ]; then
  tar -cf "$OUT" -C ${GUEST_PATHS.out} . || die "results cannot be written to $OUT"
  sync
fi
${opts.mount ? `umount ${GUEST_PATHS.merged} && umount ${GUEST_PATHS.upperfs} && umount ${GUEST_PATHS.lower} || die "unmount failed"` : ''}
say done
poweroff -f
`;
}

/** The disk with a given virtio serial ("" when absent); waits briefly for the driver's probe. */
function diskFunction(): string {
  return `disk() {
  for try in 1 2 3 4 5 6 7 8 9 10; do
    for b in /sys/block/vd*; do
      [ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && { echo "/dev/\${b##*/}"; return; }
    done
    [ -z "$2" ] && return
    sleep 0.5
  done
}`;
}

function mountSection(): string {
  const { lower, upperfs, merged } = GUEST_PATHS;
  return `LOWER=$(disk ${SERIAL.lower} wait)
UPPER=$(disk ${SERIAL.upper} wait)
[ -n "$LOWER" ] || die "no-disk the lower disk (serial ${SERIAL.lower}) did not appear"
[ -n "$UPPER" ] || die "no-disk the upper disk (serial ${SERIAL.upper}) did not appear"
mkdir -p ${lower} ${upperfs} ${merged}
dmesg -c > /dev/null
mount -t erofs -o ro,loud "$LOWER" ${lower} || die "mount-lower cannot mount $LOWER as erofs"
dmesg -c > /dev/null
mount -t ext4 -o loud "$UPPER" ${upperfs} || die "mount-upper cannot mount $UPPER as ext4"
mkdir -p ${upperfs}/upper ${upperfs}/work || die "mount-upper cannot create upper/ and work/ on the ext4"
dmesg -c > /dev/null
mount -t overlay overlay -o loud,lowerdir=${lower},upperdir=${upperfs}/upper,workdir=${upperfs}/work ${merged} || die "mount-overlay cannot assemble the overlay"`;
}
