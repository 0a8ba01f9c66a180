# Reference results for imln.modeling from R's rms, Hmisc and stats.
#
#   Rscript tests/modeling/data/make_reference.R [OUTPUT_DIR]
#
# OUTPUT_DIR defaults to tests/modeling/data/r_reference. The frozen copy there was
# made with R 4.2.2, rms 6.5-0, Hmisc 4.8-0, survival 3.5-3 (Debian 12 packages
# r-base-core, r-cran-rms, r-cran-survival). tests/modeling/test_r_live.py runs this
# script again when Rscript is available and checks imln against the fresh output.
# Every number is written with 17 significant digits.

suppressMessages(library(rms))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "tests/modeling/data/r_reference"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

num <- function(df) {
  for (k in names(df)) if (is.numeric(df[[k]])) df[[k]] <- sprintf("%.17g", df[[k]])
  df
}
save <- function(df, name) write.csv(num(df), file.path(out, name), row.names = FALSE, quote = TRUE)
table_of <- function(m) data.frame(index = rownames(m), unclass(m), check.names = FALSE, row.names = NULL)

# ---- data: survival::rotterdam, outcome = any positive axillary node -----------------
d <- survival::rotterdam
d$nodepos <- as.integer(d$nodes > 0)
form <- nodepos ~ rcs(age, 4) + meno + size + grade + log1p(pgr) + log1p(er)

# ---- R's random numbers: set.seed() + sample() ---------------------------------------
set.seed(42); a <- sample(2982, replace = TRUE)
b <- sample(10); c1 <- sample(100000, 5, replace = TRUE); c2 <- sample(65536, 3, replace = TRUE)
set.seed(-7); e1 <- sample(5, 5, replace = TRUE); e2 <- sample(3000)
save(data.frame(call = c(rep("seed42_boot2982", 2982), rep("seed42_then_perm10", 10),
                         rep("seed42_then_100000x5", 5), rep("seed42_then_65536x3", 3),
                         rep("seedm7_5x5", 5), rep("seedm7_then_perm3000", 3000)),
                value = c(a, b, c1, c2, e1, e2)), "sample.csv")

# ---- knots (Hmisc::rcspline.eval default placement) -----------------------------------
kn <- list()
for (nk in 3:7) {
  kn[[length(kn) + 1]] <- data.frame(variable = "age", nk = nk, knot = rcspline.eval(d$age, nk = nk, knots.only = TRUE))
  kn[[length(kn) + 1]] <- data.frame(variable = "pgr", nk = nk, knot = rcspline.eval(d$pgr, nk = nk, knots.only = TRUE))
  kn[[length(kn) + 1]] <- data.frame(variable = "er", nk = nk, knot = rcspline.eval(d$er, nk = nk, knots.only = TRUE))
  kn[[length(kn) + 1]] <- data.frame(variable = "age_first80", nk = nk,
                                     knot = rcspline.eval(d$age[1:80], nk = nk, knots.only = TRUE))
}
save(do.call(rbind, kn), "knots.csv")
basis <- rcspline.eval(d$age[1:25], knots = c(35, 49, 61, 77), inclx = TRUE)
save(data.frame(age = d$age[1:25], b1 = basis[, 1], b2 = basis[, 2], b3 = basis[, 3]), "rcs_basis.csv")

# ---- lrm fit -------------------------------------------------------------------------
f <- lrm(form, data = d, x = TRUE, y = TRUE)
save(data.frame(term = names(coef(f)), coef = unname(coef(f)), se = unname(sqrt(diag(vcov(f))))), "lrm_coef.csv")
st <- f$stats
save(data.frame(stat = names(st), value = unname(st)), "lrm_stats.csv")
save(data.frame(i = seq_along(f$linear.predictors), lp = unname(f$linear.predictors)), "lrm_lp.csv")
save(data.frame(stat = c("C_somers2", "Dxy_somers2", "null_deviance", "deviance"),
                value = c(somers2(f$linear.predictors, f$y)[1:2], f$deviance)), "lrm_extra.csv")

fp <- suppressWarnings(lrm(form, data = d, x = TRUE, y = TRUE, penalty = 5))
save(data.frame(term = names(coef(fp)), coef = unname(coef(fp)), se = unname(sqrt(diag(vcov(fp))))),
     "lrm_penalty5_coef.csv")
save(data.frame(stat = names(fp$stats), value = unname(fp$stats)), "lrm_penalty5_stats.csv")

# ---- validate -------------------------------------------------------------------------
set.seed(1); v <- validate(f, B = 200)
save(table_of(v), "validate_boot_seed1_B200.csv")
set.seed(5); v <- validate(f, method = "crossvalidation", B = 10)
save(table_of(v), "validate_cv_seed5_B10.csv")
set.seed(3); v <- validate(fp, B = 50)
save(table_of(v), "validate_penalty5_seed3_B50.csv")

# ---- calibrate ------------------------------------------------------------------------
set.seed(2); cal <- calibrate(f, B = 40)
save(data.frame(unclass(cal)[, 1:9], check.names = FALSE), "calibrate_seed2_B40.csv")
predicted <- attr(cal, "predicted")
s <- !is.na(cal[, "predy"] + cal[, "calibrated.corrected"])
err <- predicted - approx(cal[s, "predy"], cal[s, "calibrated.corrected"], xout = predicted, ties = mean)$y
save(data.frame(stat = c("mean_absolute_error", "mean_squared_error", "quantile_90_absolute_error"),
                value = c(mean(abs(err), na.rm = TRUE), mean(err^2, na.rm = TRUE),
                          quantile(abs(err), 0.9, na.rm = TRUE))), "calibrate_seed2_B40_errors.csv")

# ---- lowess (iter = 0) with heavy ties, and approx(ties = first) ----------------------
set.seed(11); x <- round(runif(500), 2); y <- rbinom(500, 1, x)
l <- lowess(x, y, iter = 0)
save(data.frame(x_in = x, y_in = y, x = l$x, y = l$y), "lowess_ties.csv")
grid <- seq(0.03, 0.97, length = 40)
save(data.frame(xout = grid, y = approx(l, xout = grid, ties = function(v) v[1])$y), "approx_first.csv")

# ---- nomogram (default axes, datadist) -------------------------------------------------
dd <- datadist(d); options(datadist = "dd")
f2 <- lrm(form, data = d, x = TRUE, y = TRUE)
nom <- nomogram(f2, fun = plogis, funlabel = "Risk")
rows <- list()
for (v in c("age", "meno", "size", "grade", "pgr", "er")) {
  rows[[v]] <- data.frame(predictor = v, value = as.character(nom[[v]][[v]]), points = unname(nom[[v]]$points))
}
save(do.call(rbind, rows), "nomogram_points.csv")
save(data.frame(axis = c(rep("total.points", length(nom$total.points$x)), rep("lp.real", length(nom$lp$x.real)),
                         rep("lp.points", length(nom$lp$x))),
                value = c(nom$total.points$x, nom$lp$x.real, nom$lp$x)), "nomogram_axes.csv")
pr <- list(c(24, 90, 10), c(0, 5004, 10), c(0.013, 0.97, 5), c(-1.2, 2.7, 10), c(0, 163.1, 10), c(3.2, 3.2, 5))
save(do.call(rbind, lapply(seq_along(pr), function(i)
  data.frame(case = i, lo = pr[[i]][1], hi = pr[[i]][2], n = pr[[i]][3],
             value = pretty(c(pr[[i]][1], pr[[i]][2]), pr[[i]][3])))), "pretty.csv")

writeLines(c(R.version.string, paste("rms", packageVersion("rms")), paste("Hmisc", packageVersion("Hmisc")),
             paste("survival", packageVersion("survival"))), file.path(out, "versions.txt"))
