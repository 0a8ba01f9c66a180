# Times mada::reitsma on the CSVs given, inside R (start-up not counted).
#   Rscript bench_reitsma.R REPS file1.csv [file2.csv ...]   -> "name seconds_per_fit" lines
suppressPackageStartupMessages(library(mada))
args <- commandArgs(trailingOnly = TRUE)
reps <- as.integer(args[1])
for (path in args[-1]) {
  d <- read.csv(path)
  invisible(reitsma(d))  # warm-up
  t <- system.time(for (i in seq_len(reps)) reitsma(d))[["elapsed"]]
  fit <- reitsma(d)
  cat(basename(path), t / reps, paste(format(c(coef(fit), fit$Psi[c(1, 2, 4)]), digits = 15), collapse = " "), "\n")
}
