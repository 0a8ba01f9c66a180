# Times rms::validate on the benchmark cohort written by bench_validate.py.
#   Rscript bench_validate.R COHORT.csv B SEED OUT.csv
suppressMessages(library(rms))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1])
B <- as.integer(a[2]); seed <- as.integer(a[3])
predictors <- setdiff(names(d), "y")
f <- lrm(as.formula(paste("y ~", paste(predictors, collapse = " + "))), data = d, x = TRUE, y = TRUE)
set.seed(seed)
elapsed <- system.time(v <- validate(f, B = B))[["elapsed"]]
z <- data.frame(index = rownames(v), unclass(v), check.names = FALSE, row.names = NULL)
for (k in names(z)) if (is.numeric(z[[k]])) z[[k]] <- sprintf("%.17g", z[[k]])
write.csv(z, a[4], row.names = FALSE)
cat(sprintf("%.6f\n", elapsed))
