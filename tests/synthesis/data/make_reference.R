# Reference outputs for imln.synthesis from R.
#   Rscript make_reference.R OUTDIR [mada|metafor|both]
# mada part:    mada::reitsma (mada 0.5.12; needs mada, mvmeta, mixmeta, ellipse, mvtnorm, metafor)
# metafor part: metafor::rma.mv bivariate (struct = "UN", REML) and metafor::rma (univariate REML)
# Data: the CSVs next to this script (exported from mada 0.5.12's data/*.rda by export_mada_data.R).
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
what <- if (length(args) > 1) args[2] else "both"
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
dir.create(out, showWarnings = FALSE, recursive = TRUE)
sets <- c("AuditC", "Dementia", "IAQ", "SAQ", "smoking")
rows <- list()
put <- function(dataset, model, quantity, value) {
  rows[[length(rows) + 1]] <<- data.frame(dataset = dataset, model = model, quantity = quantity,
                                          index = seq_along(value), value = as.numeric(value))
}
correct <- function(d) {  # mada's default: 0.5 to all cells of all studies if any cell is zero
  if (any(d[, c("TP", "FN", "FP", "TN")] == 0)) d[, c("TP", "FN", "FP", "TN")] <- d[, c("TP", "FN", "FP", "TN")] + 0.5
  d
}
for (name in sets) {
  d <- read.csv(file.path(here, paste0(name, ".csv")))
  if (what %in% c("mada", "both")) {
    suppressPackageStartupMessages(library(mada))
    for (variant in c("default", "tight")) {
      ctrl <- if (variant == "tight") list(reltol = 1e-14, maxiter = 10000) else list()
      fit <- reitsma(d, control = ctrl)
      s <- summary(fit)
      m <- paste0("mada_", variant)
      put(name, m, "coef", coef(fit))
      put(name, m, "se", sqrt(diag(vcov(fit))))
      put(name, m, "vcov", vcov(fit))
      put(name, m, "psi", fit$Psi)
      put(name, m, "loglik", as.numeric(logLik(fit)))
      put(name, m, "aic", AIC(fit))
      put(name, m, "bic", BIC(fit))
      put(name, m, "summary_sens", s$coefficients["sensitivity", c(1, 5, 6)])
      put(name, m, "summary_fpr", s$coefficients["false pos. rate", c(1, 5, 6)])
      put(name, m, "hsroc", unlist(mada:::calc_hsroc_coef(fit)))
      put(name, m, "sroc", sroc(fit)[, 2])
      put(name, m, "auc", unlist(AUC(fit))[1:2])
      put(name, m, "conf_region", as.vector(mada:::ROC.ellipse2(fit, add = FALSE)$ROCellipse))
      mu <- fit$coefficients["(Intercept)", ]
      pe <- ellipse::ellipse(fit$Psi + vcov(fit), centre = mu, level = 0.95)
      put(name, m, "pred_region", c(plogis(pe[, 2]), plogis(pe[, 1])))
    }
    fit <- reitsma(d, correction.control = "single", control = list(reltol = 1e-14, maxiter = 10000))
    put(name, "mada_single", "coef", coef(fit))
    put(name, "mada_single", "se", sqrt(diag(vcov(fit))))
    put(name, "mada_single", "psi", fit$Psi)
    put(name, "mada_single", "loglik", as.numeric(logLik(fit)))
    if (name == "smoking") {
      fit <- reitsma(d, formula = cbind(tsens, tfpr) ~ type, control = list(reltol = 1e-14, maxiter = 10000))
      put(name, "mada_regression", "coef", coef(fit))
      put(name, "mada_regression", "se", sqrt(diag(vcov(fit))))
      put(name, "mada_regression", "psi", fit$Psi)
      put(name, "mada_regression", "loglik", as.numeric(logLik(fit)))
    }
  }
  if (what %in% c("metafor", "both")) {
    suppressPackageStartupMessages(library(metafor))
    dc <- correct(d)
    k <- nrow(dc)
    sens <- dc$TP / (dc$TP + dc$FN); fpr <- dc$FP / (dc$FP + dc$TN)
    long <- data.frame(study = rep(seq_len(k), each = 2), outcome = factor(rep(c("tsens", "tfpr"), k), levels = c("tsens", "tfpr")),
                       yi = as.vector(rbind(qlogis(sens), qlogis(fpr))),
                       vi = as.vector(rbind(1 / ((dc$TP + dc$FN) * sens * (1 - sens)), 1 / ((dc$FP + dc$TN) * fpr * (1 - fpr)))))
    fit <- rma.mv(yi, vi, mods = ~ outcome - 1, random = ~ outcome | study, struct = "UN", data = long, method = "REML",
                  control = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, maxit = 10000))
    put(name, "metafor", "coef", coef(fit))
    put(name, "metafor", "se", fit$se)
    put(name, "metafor", "psi", c(fit$tau2[1], fit$rho * sqrt(fit$tau2[1] * fit$tau2[2]), fit$rho * sqrt(fit$tau2[1] * fit$tau2[2]), fit$tau2[2]))
    put(name, "metafor", "loglik_reml", as.numeric(logLik(fit)))
    uni <- function(dd, label) {  # univariate REML per margin, after mada's correction of these studies
      dd <- correct(dd)
      se <- dd$TP / (dd$TP + dd$FN); fp <- dd$FP / (dd$FP + dd$TN)
      margins <- list(tsens = data.frame(yi = qlogis(se), vi = 1 / ((dd$TP + dd$FN) * se * (1 - se))),
                      tfpr = data.frame(yi = qlogis(fp), vi = 1 / ((dd$FP + dd$TN) * fp * (1 - fp))))
      for (j in names(margins)) {
        uf <- rma(yi, vi, data = margins[[j]], method = "REML", control = list(threshold = 1e-12, maxiter = 10000))
        put(name, label, j, c(coef(uf), uf$se, uf$tau2))
      }
    }
    uni(d, "metafor_univariate")
    uni(d[1:3, ], "metafor_univariate_first3")
  }
}
res <- do.call(rbind, rows)
write.csv(res, file.path(out, "reference.csv"), row.names = FALSE)
writeLines(c(paste("R", getRversion()),
             if (what %in% c("mada", "both")) paste("mada", packageVersion("mada")),
             if (what %in% c("metafor", "both")) paste("metafor", packageVersion("metafor"))),
           file.path(out, "versions.txt"))
