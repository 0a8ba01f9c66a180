# Writes mada's bundled datasets (mada 0.5.12, data/*.rda; GPL-2) to the CSVs next to this script.
#   Rscript export_mada_data.R OUTDIR
suppressPackageStartupMessages(library(mada))
out <- commandArgs(trailingOnly = TRUE)[1]
for (name in c("AuditC", "Dementia", "IAQ", "SAQ", "smoking")) {
  data(list = name, package = "mada")
  write.csv(get(name), file.path(out, paste0(name, ".csv")), row.names = FALSE)
}
