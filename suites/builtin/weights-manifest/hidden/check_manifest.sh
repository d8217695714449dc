cd weights && sha256sum -c ../weights/MANIFEST.sha256 >/dev/null 2>&1 && test "$(wc -l < MANIFEST.sha256)" -eq 3
