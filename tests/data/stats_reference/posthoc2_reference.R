## Reference values for two_way_posthoc and friedman_dunn, made once by hand with Debian's R.
## Run from this folder:  Rscript posthoc2_reference.R   (needs r-cran-emmeans)
## Reads twoway.csv, repeated.csv, friedman_ties.csv (written by make_reference.R) and writes
## posthoc2_reference.csv (case, quantity, value; %.17g). Tests never call R.
suppressPackageStartupMessages(library(emmeans))
emm_options(opt.digits = FALSE)

out <- data.frame(case = character(), quantity = character(), value = character(),
                  stringsAsFactors = FALSE)
put <- function(case, quantity, value) {
  value <- unname(value)
  for (i in seq_along(value)) {
    q <- if (length(value) > 1) paste0(quantity, "[", i, "]") else quantity
    v <- if (is.na(value[i])) "NA" else sprintf("%.17g", value[i])
    out[nrow(out) + 1, ] <<- c(case, q, v)
  }
}
holm_sidak <- function(p) {
  k <- length(p); o <- order(p); adj <- numeric(k)
  adj[o] <- cummax(1 - (1 - p[o])^(k - seq_len(k) + 1)); pmin(adj, 1)
}
## Dunnett's one-factor integral (as make_reference.R), lambda_i = sqrt(v0 / (v0 + v_i))
## from the variance factors v of the means (v = 1/n for cell means)
pdun <- function(q, lam, dfw) integrate(function(s) sapply(s, function(si) {
  dens <- exp(log(2) + (dfw / 2) * log(dfw / 2) - lgamma(dfw / 2) + (dfw - 1) * log(si) -
                dfw * si^2 / 2)
  inner <- integrate(function(z) dnorm(z) * apply(sapply(lam, function(l)
    pnorm((q * si + l * z) / sqrt(1 - l^2)) - pnorm((-q * si + l * z) / sqrt(1 - l^2))), 1,
    prod), -Inf, Inf, rel.tol = 1e-12)$value
  dens * inner }), 0, Inf, rel.tol = 1e-11)$value

tw <- read.csv("twoway.csv")
tw$drug <- factor(tw$drug, levels = c("vehicle", "low", "high"))
tw$genotype <- factor(tw$genotype, levels = c("WT", "KO"))
sets <- list(bal = tw, unbal = tw[-c(2, 14), ])

for (nm in names(sets)) {
  d <- sets[[nm]]
  fit <- lm(response ~ genotype * drug, data = d)
  ## simple effects: drug compared within each genotype
  emm <- emmeans(fit, ~ drug | genotype)
  pr <- pairs(emm)                 # vehicle - low, vehicle - high, low - high (per genotype)
  s0 <- summary(pr, adjust = "none", infer = TRUE)
  put(paste0(nm, "_within"), "diff", s0$estimate); put(paste0(nm, "_within"), "se", s0$SE)
  put(paste0(nm, "_within"), "t", s0$t.ratio); put(paste0(nm, "_within"), "df", s0$df)
  put(paste0(nm, "_within"), "p_unadj", s0$p.value)
  st <- summary(pr, adjust = "tukey", infer = TRUE)          # family = each genotype
  put(paste0(nm, "_within_tukey"), "p_adj", st$p.value)
  put(paste0(nm, "_within_tukey"), "lower", st$lower.CL); put(paste0(nm, "_within_tukey"), "upper", st$upper.CL)
  for (adj in c("sidak", "bonferroni")) {
    sr <- summary(pr, adjust = adj, infer = TRUE)            # family = each genotype
    put(paste0(nm, "_within_", adj, "_row"), "p_adj", sr$p.value)
    put(paste0(nm, "_within_", adj, "_row"), "lower", sr$lower.CL)
    put(paste0(nm, "_within_", adj, "_row"), "upper", sr$upper.CL)
    sa <- summary(pr, adjust = adj, infer = TRUE, by = NULL) # family = the whole table
    put(paste0(nm, "_within_", adj, "_all"), "p_adj", sa$p.value)
    put(paste0(nm, "_within_", adj, "_all"), "lower", sa$lower.CL)
    put(paste0(nm, "_within_", adj, "_all"), "upper", sa$upper.CL)
  }
  put(paste0(nm, "_within_holm_sidak_all"), "p_adj", holm_sidak(s0$p.value))
  ## Dunnett vs vehicle within each genotype: emmeans' estimate/SE/t, p by the integral
  dn <- summary(contrast(emm, "trt.vs.ctrl", ref = 1), adjust = "none")  # low - vehicle, high - vehicle
  put(paste0(nm, "_within_dunnett"), "diff", -dn$estimate); put(paste0(nm, "_within_dunnett"), "t", -dn$t.ratio)
  dfw <- dn$df[1]; pd <- numeric(nrow(dn))
  for (g in levels(d$genotype)) {
    nn <- table(d$drug[d$genotype == g])
    lam <- sqrt((1 / nn[1]) / (1 / nn[1] + 1 / nn[-1]))
    i <- which(dn$genotype == g)
    pd[i] <- sapply(abs(dn$t.ratio[i]), function(q) 1 - pdun(q, lam, dfw))
  }
  put(paste0(nm, "_within_dunnett"), "p_adj", pd)
  ## main effect of drug on least-squares means
  em2 <- emmeans(fit, ~ drug)
  p2 <- pairs(em2)
  m0 <- summary(p2, adjust = "none", infer = TRUE)
  put(paste0(nm, "_main"), "diff", m0$estimate); put(paste0(nm, "_main"), "se", m0$SE)
  put(paste0(nm, "_main"), "p_unadj", m0$p.value)
  mt <- summary(p2, adjust = "tukey", infer = TRUE)
  put(paste0(nm, "_main_tukey"), "p_adj", mt$p.value)
  put(paste0(nm, "_main_tukey"), "lower", mt$lower.CL); put(paste0(nm, "_main_tukey"), "upper", mt$upper.CL)
  ms <- summary(p2, adjust = "sidak", infer = TRUE)
  put(paste0(nm, "_main_sidak"), "p_adj", ms$p.value)
  put(paste0(nm, "_main_sidak"), "lower", ms$lower.CL); put(paste0(nm, "_main_sidak"), "upper", ms$upper.CL)
  md <- summary(contrast(em2, "trt.vs.ctrl", ref = 1), adjust = "none")
  v <- summary(em2)$SE^2                       # variance factors up to MSE
  lam <- sqrt(v[1] / (v[1] + v[-1]))
  put(paste0(nm, "_main_dunnett"), "diff", -md$estimate)
  put(paste0(nm, "_main_dunnett"), "p_adj", sapply(abs(md$t.ratio), function(q) 1 - pdun(q, lam, md$df[1])))
}

## Dunn after Friedman, by formula (Prism's): ranks within subject, z = (R_i - R_j) /
## sqrt(n k (k + 1) / 6) on rank sums, Bonferroni p.adjust; pairs in level order (i < j)
dunn_fr <- function(d, lv, name) {
  w <- tapply(d$value, list(d$subject, factor(d$condition, levels = lv)), identity)
  r <- t(apply(w, 1, rank)); n <- nrow(w); k <- ncol(w); R <- colSums(r)
  prs <- combn(seq_len(k), 2, simplify = FALSE)
  z <- sapply(prs, function(p) (R[p[1]] - R[p[2]]) / sqrt(n * k * (k + 1) / 6))
  p <- 2 * pnorm(-abs(z))
  put(name, "rank_sum_diff", sapply(prs, function(p) R[p[1]] - R[p[2]]))
  put(name, "z", z); put(name, "p_unadj", p); put(name, "p_bonferroni", p.adjust(p, "bonferroni"))
}
rp <- read.csv("repeated.csv")
dunn_fr(rp, unique(rp$condition), "friedman_dunn_repeated")
ft <- read.csv("friedman_ties.csv")
dunn_fr(ft, unique(ft$condition), "friedman_dunn_ties")

write.csv(out, "posthoc2_reference.csv", row.names = FALSE)
cat(R.version.string, "; emmeans", as.character(packageVersion("emmeans")), "\n")
