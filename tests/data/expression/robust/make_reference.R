## Reference numbers for robust empirical Bayes (eBayes(robust = TRUE), Phipson et al. 2016)
## and duplicateCorrelation on an unbalanced design with missing values.
## Run from this folder:   Rscript make_reference.R [path/to/shared/reference/expression]
## Needs R 4.2.2 with Debian r-bioc-limma 3.54.1 and r-cran-statmod 1.5.0 (this project's own
## script; the tests never call R).
suppressPackageStartupMessages(library(limma))
args <- commandArgs(trailingOnly = TRUE)
shared <- if (length(args)) args[1] else "../../../../../shared/reference/expression"

write_csv <- function(df, file) {  # doubles as %.17g (exact round trip), NA as NA; gzip if *.gz
  for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- ifelse(is.na(df[[j]]), "NA", sprintf("%.17g", df[[j]]))
  con <- if (grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names = FALSE, quote = FALSE); close(con)
}
num <- function(x) if (is.infinite(x)) sprintf('"%s"', if (x > 0) "inf" else "-inf") else sprintf("%.17g", x)
to_json <- function(x, ind = "") {
  inner <- paste0(ind, "  ")
  items <- vapply(names(x), function(k) {
    v <- x[[k]]
    val <- if (is.null(v)) "null" else if (is.list(v)) to_json(v, inner) else if (is.character(v)) sprintf('"%s"', v) else
      if (is.logical(v)) tolower(as.character(v)) else if (is.double(v)) num(v) else as.character(v)
    sprintf('%s"%s": %s', inner, k, val)
  }, "")
  paste0("{\n", paste(items, collapse = ",\n"), "\n", ind, "}")
}
read_expr <- function(file) {
  d <- read.csv(file, check.names = FALSE, colClasses = c(probe = "character"))
  m <- as.matrix(d[, -1]); rownames(m) <- d$probe; m
}

## per-feature columns of one moderated fit, in feature (input) order
moderated_columns <- function(f, coef, prefix, treat = FALSE) {
  out <- data.frame(t = f$t[, coef], P = f$p.value[, coef])
  if (!treat) out$B <- f$lods[, coef]
  out$df_prior <- rep_len(f$df.prior, nrow(f))
  out$s2_prior <- rep_len(f$s2.prior, nrow(f))
  out$s2_post <- f$s2.post
  names(out) <- paste0(prefix, "_", names(out)); out
}
robust_cases <- function(fit0, coef) {
  r <- eBayes(fit0, robust = TRUE)
  rt <- eBayes(fit0, trend = TRUE, robust = TRUE)
  tr <- treat(fit0, lfc = log2(1.5), robust = TRUE)
  fd <- fitFDistRobustly(fit0$sigma^2, fit0$df.residual)
  fdt <- fitFDistRobustly(fit0$sigma^2, fit0$df.residual, covariate = fit0$Amean)
  cols <- cbind(moderated_columns(r, coef, "robust"), moderated_columns(rt, coef, "rtrend"),
                moderated_columns(tr, coef, "rtreat", treat = TRUE)[, c("rtreat_t", "rtreat_P")])
  cols$robust_s2_prior <- NULL  # a constant: in the scalars
  sc <- list(df2 = fd$df2, s2_prior = r$s2.prior, df2_outlier = fd$df2.outlier,
             trend_df2 = fdt$df2, nonrobust_df_prior = eBayes(fit0)$df.prior,
             n_df_prior_below_df2 = sum(r$df.prior < fd$df2))
  list(cols = cols, scalars = sc)
}

no_post <- function(cols) cols[, !grepl("s2_post$", names(cols))]  # keep the big files small
scalars <- list()

## 1. ALL_bcell (../shared): ~ mol_biol, coefficient mol_biolNEG
E <- read_expr(gzfile(file.path(shared, "ALL_bcell", "expr.csv.gz")))
s <- read.csv(file.path(shared, "ALL_bcell", "samples.csv"), colClasses = "character")
E <- E[, s$sample]
mol_biol <- factor(s$mol_biol)
rc <- robust_cases(lmFit(E, model.matrix(~ mol_biol)), "mol_biolNEG")
write_csv(data.frame(probe = rownames(E), no_post(rc$cols), check.names = FALSE), "ALL_bcell_robust.csv.gz")
scalars$ALL_bcell <- rc$scalars

## 2. paired_small (../shared): ~ patient + trt, coefficient trtLEN
E <- read_expr(gzfile(file.path(shared, "paired_small", "expr.csv.gz")))
s <- read.csv(file.path(shared, "paired_small", "samples.csv"), colClasses = "character")
E <- E[, s$sample]
patient <- factor(s$patient); trt <- factor(s$trt, levels = c("DMSO", "LEN"))
rc <- robust_cases(lmFit(E, model.matrix(~ patient + trt)), "trtLEN")
write_csv(data.frame(probe = rownames(E), no_post(rc$cols), check.names = FALSE), "paired_small_robust.csv.gz")
scalars$paired_small <- rc$scalars

## 3. sim (stored here, so its tests always run): 2,000 simulated features x 10 arrays,
## unbalanced blocks (sizes 2, 2, 2, 3, 1), a random block intercept (rho 0.3), an intensity
## trend of the variance, 4 % hypervariable features and missing values.
set.seed(20240611)
G <- 2000
block <- c("A", "A", "B", "B", "C", "C", "D", "D", "D", "E")
grp <- c("ctl", "trt", "ctl", "trt", "ctl", "trt", "ctl", "trt", "trt", "ctl")
mu <- runif(G, 4, 12)
s2 <- exp(-3 - 0.15 * (mu - 8)) * 6 / rchisq(G, 6)     # scaled inverse chi-square, d0 = 6
hv <- sample(G, 80); s2[hv] <- s2[hv] * 10            # hypervariable features
rho <- 0.3
u <- matrix(rnorm(G * 5), G) * sqrt(s2 * rho / (1 - rho))
E <- mu + u[, match(block, LETTERS)] + matrix(rnorm(G * 10), G) * sqrt(s2)
de <- sample(G, 200)
E[de, grp == "trt"] <- E[de, grp == "trt"] + sample(c(-1, 1), 200, replace = TRUE)
for (g in 1:60) E[g, g %% 10 + 1] <- NA                          # one missing value
for (g in 61:75) E[g, c(g %% 10 + 1, (g + 3) %% 10 + 1)] <- NA   # two
for (g in 76:80) E[g, 3:10] <- NA                                # only two arrays observed
E[81, c(1, 3, 5, 7)] <- NA                                       # one array per block left
rownames(E) <- sprintf("f%04d", 1:G); colnames(E) <- sprintf("s%02d", 1:10)
write_csv(data.frame(probe = rownames(E), E, check.names = FALSE), "sim_expr.csv.gz")
write_csv(data.frame(sample = colnames(E), block = block, grp = grp), "sim_samples.csv")
X <- model.matrix(~ factor(grp))
colnames(X) <- c("(Intercept)", "grptrt")
dc <- duplicateCorrelation(E, X, block = block)
fb <- lmFit(E, X, block = block, correlation = dc$consensus.correlation)
blocked <- moderated_columns(eBayes(fb), "grptrt", "blocked")
brobust <- moderated_columns(eBayes(fb, robust = TRUE), "grptrt", "brobust")
rc <- robust_cases(lmFit(E, X), "grptrt")
write_csv(data.frame(probe = rownames(E), dupcor_atanh = dc$atanh.correlations,
                     blocked[, c("blocked_t", "blocked_P", "blocked_B", "blocked_s2_post")],
                     brobust[, c("brobust_t", "brobust_P", "brobust_B", "brobust_df_prior")],
                     rc$cols, check.names = FALSE), "sim_results.csv.gz")
scalars$sim <- c(list(consensus_correlation = dc$consensus.correlation,
                      blocked_df_prior = eBayes(fb)$df.prior, blocked_s2_prior = eBayes(fb)$s2.prior),
                 rc$scalars)
## 4. sim_inf (stored here): 1,000 features x 6 arrays (3 vs 3) sharing one variance (no
## spread beyond sampling) plus 10 hypervariable features: the robust prior df is infinite
## except for the outliers (the d0 = Inf branch).
set.seed(2)
G <- 1000
sig2 <- rep(0.04, G); sig2[1:10] <- sig2[1:10] * 20
E <- matrix(rnorm(G * 6, 8, sqrt(sig2)), G)
rownames(E) <- sprintf("g%04d", 1:G); colnames(E) <- sprintf("a%d", 1:6)
write_csv(data.frame(probe = rownames(E), E, check.names = FALSE), "sim_inf_expr.csv.gz")
g2 <- factor(rep(c("a", "b"), each = 3))
fi <- lmFit(E, model.matrix(~ g2))
ri <- eBayes(fi, robust = TRUE)
write_csv(data.frame(probe = rownames(E), moderated_columns(ri, "g2b", "robust")[, c("robust_t", "robust_P", "robust_B", "robust_df_prior")],
                     check.names = FALSE), "sim_inf_results.csv.gz")
scalars$sim_inf <- list(df2 = fitFDistRobustly(fi$sigma^2, fi$df.residual)$df2, s2_prior = ri$s2.prior,
                        nonrobust_df_prior = eBayes(fi)$df.prior)
scalars$versions <- list(R = R.version.string, limma = as.character(packageVersion("limma")),
                         statmod = as.character(packageVersion("statmod")))
writeLines(to_json(scalars), "expected_scalars.json")
