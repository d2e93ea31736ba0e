#!/bin/sh
# Makes a Strata A/B disk image from an unpacked root filesystem, without privileges or loop devices:
# every file system is written straight into the image file at its partition's offset.
# Runs in the disk tools container; the worker computes the layout (lib/disk-images/layout.ts) and passes:
#   /work/rootfs        the build's root filesystem (slot A), read-only
#   /work/layout.sfdisk the partition table, for sfdisk
#   DISK_BYTES, ESP_OFFSET ESP_BYTES, BIOS_OFFSET BIOS_BYTES, A_OFFSET A_BYTES, STATE_OFFSET STATE_BYTES  (bytes)
#   FORMATS             "raw", "qcow2" or both; the raw image is always made, as the others' source
#   IMAGE, IMAGE_DIGEST, VERSION   what slot A holds (recorded in slot-a.cfg for the device agent)
# Writes /work/out/disk.raw (sparse) and /work/out/disk.qcow2 as asked ("==> ready"), then their zstd-compressed copies
# for the registry, disk.<format>.zst ("==> compressed").
set -eu
ROOTFS=/work/rootfs
OUT=/work/out
DISK=$OUT/disk.raw
GRUB_TMP=/work/grub
step() { echo "==> $*"; }
mkdir -p "$OUT" "$GRUB_TMP"

# The image's own grub when it ships one, so the boot loader matches the image; the tools' otherwise.
grub_dir() {
  if [ -f "$ROOTFS/usr/lib/grub/$1/kernel.img" ]; then echo "$ROOTFS/usr/lib/grub/$1"; else echo "/usr/lib/grub/$1"; fi
}

# Kernel and initrd: the newest /boot/vmlinuz-<version> with a matching initrd.
kernel=$(cd "$ROOTFS/boot" 2>/dev/null && ls -1 vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$kernel" ]; then
  echo "this image has no kernel (/boot/vmlinuz-*): add the base manifest's system/kernel package" >&2
  exit 3
fi
kver=${kernel#vmlinuz-}
initrd=
for candidate in "initrd.img-$kver" "initramfs-$kver.img"; do
  [ -f "$ROOTFS/boot/$candidate" ] && initrd=$candidate
done
if [ -z "$initrd" ]; then
  echo "this image has kernel $kver but no initrd for it (/boot/initrd.img-$kver): add the base manifest's system/dracut package" >&2
  exit 3
fi
step "kernel $kver, initrd $initrd"

# The kernel arguments the image asks for: /etc/default/grub and /etc/default/grub.d/*.cfg, as grub-mkconfig reads them.
cmdline=$(
  GRUB_CMDLINE_LINUX=; GRUB_CMDLINE_LINUX_DEFAULT=
  [ -f "$ROOTFS/etc/default/grub" ] && . "$ROOTFS/etc/default/grub"
  for f in "$ROOTFS"/etc/default/grub.d/*.cfg; do [ -f "$f" ] && . "$f"; done
  echo "$GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT" | tr -d "'\"\\\\" | tr -s ' '
)
step "kernel arguments from the image: $cmdline"

step "partition table"
rm -f "$DISK"
truncate -s "$DISK_BYTES" "$DISK"
sfdisk --quiet --no-reread --no-tell-kernel "$DISK" < /work/layout.sfdisk
sfdisk --list "$DISK" | sed -n '/^Device/,$p'

# A copied root filesystem still has the engine's marker file; a mounted one had it removed by its container.
if [ -e "$ROOTFS/.dockerenv" ] && [ -w "$ROOTFS" ]; then rm -f "$ROOTFS/.dockerenv"; fi
step "slot A: ext4 from the root filesystem ($(du -sh "$ROOTFS" | cut -f1))"
mke2fs -q -t ext4 -L strata-a -m 0 -d "$ROOTFS" -E "offset=$A_OFFSET" "$DISK" "$((A_BYTES / 1024))k"

step "state: ext4, empty (the writable overlays of /etc, /var, /home and /root)"
mke2fs -q -t ext4 -L strata-state -m 0 -E "offset=$STATE_OFFSET" "$DISK" "$((STATE_BYTES / 1024))k"

step "EFI system partition: FAT, grub for UEFI and the A/B boot configuration"
esp="$DISK@@$ESP_OFFSET"
mformat -i "$esp" -T "$((ESP_BYTES / 512))" -h 64 -s 32 -F -v STRATA-ESP ::
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/grub
modules="part_gpt fat ext2 normal linux search search_label search_fs_uuid loadenv test configfile echo serial terminal gzio probe regexp sleep reboot halt cat"
grub-mkimage -O x86_64-efi -d "$(grub_dir x86_64-efi)" -p /grub -o "$GRUB_TMP/BOOTX64.EFI" $modules efi_gop
mcopy -i "$esp" "$GRUB_TMP/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" /work/grub.cfg ::/grub/grub.cfg
cat > "$GRUB_TMP/slot-a.cfg" <<CFG
# Slot A: what the disk image maker installed. The device agent rewrites this file when it installs into slot A.
set strata_linux=/boot/$kernel
set strata_initrd=/boot/$initrd
set strata_cmdline='$cmdline'
set strata_image='${IMAGE:-}'
set strata_digest='${IMAGE_DIGEST:-}'
set strata_version='${VERSION:-}'
CFG
mcopy -i "$esp" "$GRUB_TMP/slot-a.cfg" ::/grub/slot-a.cfg
grub-editenv "$GRUB_TMP/grubenv" create
grub-editenv "$GRUB_TMP/grubenv" set strata_active=a
mcopy -i "$esp" "$GRUB_TMP/grubenv" ::/grub/grubenv

step "BIOS boot partition: grub for BIOS machines, reading the same configuration"
grub-mkimage -O i386-pc -d "$(grub_dir i386-pc)" -p "(,gpt1)/grub" -o "$GRUB_TMP/core.img" biosdisk $modules
# What grub-bios-setup does, done by hand because it insists on probing the file system its own files sit on
# (an overlay in a container): boot.img goes into the MBR's code area and points at core.img's first sector;
# core.img's first sector (diskboot.img) ends in a block list naming the sectors that follow it.
core_sectors=$(( ($(stat -c %s "$GRUB_TMP/core.img") + 511) / 512 ))
bios_lba=$((BIOS_OFFSET / 512))
if [ "$core_sectors" -gt "$((BIOS_BYTES / 512))" ]; then
  echo "grub's BIOS core image ($core_sectors sectors) does not fit the BIOS boot partition" >&2
  exit 1
fi
le() { perl -e 'print pack($ARGV[0], @ARGV[1..$#ARGV])' "$@"; }
dd if="$(grub_dir i386-pc)/boot.img" of="$DISK" bs=440 count=1 conv=notrunc status=none
le 'Q<' "$bios_lba" | dd of="$DISK" bs=1 seek=$((0x5c)) conv=notrunc status=none
le 'Q<v' "$((bios_lba + 1))" "$((core_sectors - 1))" | dd of="$GRUB_TMP/core.img" bs=1 seek=500 conv=notrunc status=none
dd if="$GRUB_TMP/core.img" of="$DISK" bs=512 seek="$bios_lba" conv=notrunc status=none

# The raw image is complete: the worker starts hashing it while the other formats are made.
step "raw ready"
for format in $FORMATS; do
  case $format in
    raw) ;;
    qcow2)
      step "qcow2"
      qemu-img convert -f raw -O qcow2 "$DISK" "$OUT/disk.qcow2"
      ;;
  esac
done
case " $FORMATS " in *" raw "*) ;; *) rm -f "$DISK" ;; esac
# The files are complete: the worker hashes them and offers them for download, then says go (/work/out/.go) for the
# registry's copies, so that the compression does not slow the hashing down (both want every core).
step "ready"
waited=0
while [ ! -e "$OUT/.go" ]; do
  sleep 0.2
  waited=$((waited + 1))
  if [ "$waited" -gt 9000 ]; then
    echo "the worker did not take the files within 30 minutes" >&2
    exit 1
  fi
done

# What the registry holds: each file zstd-compressed (a raw image is mostly empty space; nobody should store that).
for format in $FORMATS; do
  file=$OUT/disk.$format
  zstd -q -1 -T0 --no-progress "$file" -o "$file.zst"
done
step "compressed"
