## Reference values for preclin.stats, made once by hand with Debian's R.
## Run from this folder:  Rscript make_reference.R
## Writes the worked-example inputs (*.csv) and reference.csv (case, quantity, value).
## Tests never call R; they read these files.

suppressPackageStartupMessages({
  library(survival)
  library(multcomp)   # glht (Dunnett), loads mvtnorm
})

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
put_htest <- function(case, h) {
  put(case, "statistic", h$statistic)
  if (!is.null(h$parameter)) put(case, "df", h$parameter)
  put(case, "p_value", h$p.value)
  if (!is.null(h$estimate)) put(case, "estimate", h$estimate)
  if (!is.null(h$conf.int)) put(case, "conf_int", h$conf.int)
}

## ---------------------------------------------------------------------- data
## paired: viability (%) of 3 donors' cells, vehicle vs drug
paired <- data.frame(donor = c("D1", "D2", "D3"),
                     vehicle = c(61.4, 70.2, 52.9), drug = c(42.1, 55.3, 38.7))
## IC50s (uM): 12 sensitive vs 11 resistant cell lines (no ties)
ic50 <- data.frame(
  group = c(rep("sensitive", 12), rep("resistant", 11)),
  ic50 = c(0.021, 0.035, 0.048, 0.052, 0.077, 0.091, 0.12, 0.15, 0.18, 0.26, 0.31, 0.44,
           0.29, 0.47, 0.62, 0.88, 1.1, 1.6, 2.3, 3.1, 4.4, 7.9, 12.5))
## rank test with ties: scores
ties <- data.frame(group = c(rep("a", 8), rep("b", 9)),
                   score = c(1, 2, 2, 3, 4, 4, 5, 7, 3, 4, 4, 5, 6, 6, 7, 8, 9))
## signed-rank with ties and one zero difference (10 pairs)
sr_ties <- data.frame(pair = sprintf("P%02d", 1:10),
                      before = c(20, 24, 27, 22, 26, 28, 23, 25, 26, 29))
sr_ties$after <- sr_ties$before + c(2, 2, -1, 0, 4, 5, 2, -1, 3, 6)
## signed-rank without ties (8 pairs)
sr_exact <- data.frame(pair = sprintf("P%02d", 1:8),
                       before = c(10.5, 12.25, 9.75, 11, 13.5, 10, 12, 11.75))
sr_exact$after <- sr_exact$before + c(1.25, -0.5, 2.75, 0.75, 3.5, -1.5, 2.25, 4)
## one-way: tumour volume (mm3), 4 arms, unequal n
oneway <- data.frame(
  arm = c(rep("vehicle", 5), rep("drugA", 5), rep("drugB", 4), rep("drugC", 6)),
  volume = c(812, 905, 760, 1010, 870,
             640, 702, 590, 755, 688,
             820, 760, 905, 840,
             455, 520, 610, 480, 560, 505))
oneway$arm <- factor(oneway$arm, levels = c("vehicle", "drugA", "drugB", "drugC"))
## Kruskal-Wallis with ties: 3 groups of scores
kw <- data.frame(group = c(rep("g1", 6), rep("g2", 5), rep("g3", 7)),
                 score = c(2, 3, 3, 5, 6, 6, 4, 6, 7, 7, 8, 1, 2, 2, 3, 4, 4, 5))
kw$group <- factor(kw$group)
## two-way 3 x 2, balanced (n = 3 per cell)
twoway <- data.frame(
  drug = rep(rep(c("vehicle", "low", "high"), each = 3), 2),
  genotype = rep(c("WT", "KO"), each = 9),
  response = c(100, 96, 104, 82, 88, 79, 61, 66, 58,
               98, 103, 95, 90, 94, 87, 80, 76, 84))
twoway$drug <- factor(twoway$drug, levels = c("vehicle", "low", "high"))
twoway$genotype <- factor(twoway$genotype, levels = c("WT", "KO"))
twoway_unbal <- twoway[-c(2, 14), ]
## repeated measures: 4 subjects x 3 conditions
rm <- data.frame(subject = rep(c("S1", "S2", "S3", "S4"), each = 3),
                 condition = rep(c("baseline", "week1", "week2"), 4),
                 value = c(5.1, 6.0, 7.2,  4.2, 4.9, 6.8,  6.3, 6.1, 8.0,  5.5, 6.4, 6.9))
rm$subject <- factor(rm$subject)
rm$condition <- factor(rm$condition, levels = c("baseline", "week1", "week2"))
## survival: 2 experiments x 3 arms x 5 mice, days, event 1 = death, 0 = censored
surv <- data.frame(
  experiment = rep(c("E1", "E2"), each = 15),
  arm = rep(rep(c("vehicle", "drug", "combo"), each = 5), 2),
  time = c(11, 14, 14, 18, 25,   16, 21, 25, 30, 30,   22, 28, 35, 40, 40,
           9, 13, 15, 15, 20,    14, 18, 24, 27, 33,   20, 26, 31, 38, 40),
  event = c(1, 1, 1, 1, 0,       1, 1, 0, 1, 0,        1, 0, 1, 0, 0,
            1, 1, 1, 0, 1,       1, 1, 1, 0, 1,        1, 1, 0, 1, 0))
surv$arm <- factor(surv$arm, levels = c("vehicle", "drug", "combo"))

write.csv(paired, "paired.csv", row.names = FALSE)
write.csv(ic50, "ic50.csv", row.names = FALSE)
write.csv(ties, "ties.csv", row.names = FALSE)
write.csv(sr_ties, "signedrank_ties.csv", row.names = FALSE)
write.csv(sr_exact, "signedrank_exact.csv", row.names = FALSE)
write.csv(oneway, "oneway.csv", row.names = FALSE)
write.csv(kw, "kruskal.csv", row.names = FALSE)
write.csv(twoway, "twoway.csv", row.names = FALSE)
write.csv(rm, "repeated.csv", row.names = FALSE)
write.csv(surv, "survival.csv", row.names = FALSE)

## ------------------------------------------------------------------ two groups
## paired (x = drug, y = vehicle: effect = drug - vehicle)
put_htest("paired_t", t.test(paired$drug, paired$vehicle, paired = TRUE))
put_htest("paired_wilcoxon", wilcox.test(paired$drug, paired$vehicle, paired = TRUE,
                                          conf.int = TRUE))
put_htest("paired_welch", t.test(paired$drug, paired$vehicle))
## IC50s on log10 (x = resistant, y = sensitive: effect = ratio resistant / sensitive)
xr <- ic50$ic50[ic50$group == "resistant"]; xs <- ic50$ic50[ic50$group == "sensitive"]
put_htest("ic50_welch_log", t.test(log10(xr), log10(xs)))
put_htest("ic50_student_log", t.test(log10(xr), log10(xs), var.equal = TRUE))
put_htest("ic50_welch_raw", t.test(xr, xs))
put_htest("ic50_mw_log", wilcox.test(log10(xr), log10(xs), conf.int = TRUE))
put_htest("ic50_mw_raw", wilcox.test(xr, xs, conf.int = TRUE))
## ties, two samples (x = b, y = a): normal approximation with continuity correction
xa <- ties$score[ties$group == "a"]; xb <- ties$score[ties$group == "b"]
h <- suppressWarnings(wilcox.test(xb, xa, conf.int = TRUE))
put_htest("ties_mw", h)
## R finds the asymptotic estimate/CI with uniroot(tol = 1e-4) on a step function of the
## shift d, so its values are within ~1e-4 of the jump point.  The exact jump points, by
## brute force on the same function (hand computation): evaluate it at every breakpoint and
## between breakpoints, take the first place where it is <= 0 (the midpoint of a flat zero
## stretch, where uniroot may return any point of it).
steproot <- function(f, bps) {
  bps <- sort(unique(bps)); k <- length(bps)
  pts <- if (k > 1) c(rbind(bps[-k], (bps[-1] + bps[-k]) / 2), bps[k]) else bps
  v <- sapply(pts, f)
  i <- which(v <= 0)[1]
  if (is.na(i)) return(bps[k])
  lo <- if (i %% 2 == 1) pts[i] else pts[i - 1]
  if (v[i] != 0) return(lo)
  j <- i; while (j < length(v) && v[j + 1] == 0) j <- j + 1
  hi <- if (j %% 2 == 1) pts[j] else pts[j + 1]
  (lo + hi) / 2
}
W2 <- function(d, x, y, correct) {
  nx <- length(x); ny <- length(y)
  dr <- rank(c(x - d, y)); nt <- table(dr)
  dz <- sum(dr[seq_along(x)]) - nx * (nx + 1) / 2 - nx * ny / 2
  cc <- if (correct) sign(dz) * 0.5 else 0
  s <- sqrt((nx * ny / 12) * ((nx + ny + 1) - sum(nt^3 - nt) / ((nx + ny) * (nx + ny - 1))))
  (dz - cc) / s
}
W1 <- function(d, x, correct) {
  xd <- x - d; xd <- xd[xd != 0]; nx <- length(xd)
  dr <- rank(abs(xd)); zd <- sum(dr[xd > 0]) - nx * (nx + 1) / 4; nt <- table(dr)
  s <- sqrt(nx * (nx + 1) * (2 * nx + 1) / 24 - sum(nt^3 - nt) / 48)
  cc <- if (correct) sign(zd) * 0.5 else 0
  (zd - cc) / s
}
bp2 <- as.vector(outer(xb, xa, "-"))
put("ties_mw", "hand_ci_lower", steproot(function(d) W2(d, xb, xa, TRUE) - qnorm(0.975), bp2))
put("ties_mw", "hand_ci_upper", steproot(function(d) W2(d, xb, xa, TRUE) - qnorm(0.025), bp2))
put("ties_mw", "hand_estimate", steproot(function(d) W2(d, xb, xa, FALSE), bp2))
put_htest("ties_student", t.test(xb, xa, var.equal = TRUE))
## signed rank with ties and a zero (x = after, y = before)
h <- suppressWarnings(wilcox.test(sr_ties$after, sr_ties$before, paired = TRUE,
                                  conf.int = TRUE))
put_htest("sr_ties", h)
d <- sr_ties$after - sr_ties$before; d <- d[d != 0]
w <- outer(d, d, "+"); bp1 <- w[!lower.tri(w)] / 2
put("sr_ties", "hand_ci_lower", steproot(function(m) W1(m, d, TRUE) - qnorm(0.975), bp1))
put("sr_ties", "hand_ci_upper", steproot(function(m) W1(m, d, TRUE) - qnorm(0.025), bp1))
put("sr_ties", "hand_estimate", steproot(function(m) W1(m, d, FALSE), bp1))
put_htest("sr_ties_t", t.test(sr_ties$after, sr_ties$before, paired = TRUE))
## signed rank, exact
put_htest("sr_exact", wilcox.test(sr_exact$after, sr_exact$before, paired = TRUE,
                                  conf.int = TRUE))
put_htest("sr_exact_t", t.test(sr_exact$after, sr_exact$before, paired = TRUE))

## --------------------------------------------------------------------- one-way
fit <- aov(volume ~ arm, data = oneway)
tab <- summary(fit)[[1]]
put("oneway_anova", "F", tab[1, "F value"]); put("oneway_anova", "df_between", tab[1, "Df"])
put("oneway_anova", "df_within", tab[2, "Df"]); put("oneway_anova", "p_value", tab[1, "Pr(>F)"])
put("oneway_anova", "ss_between", tab[1, "Sum Sq"]); put("oneway_anova", "ss_within", tab[2, "Sum Sq"])
## Tukey-Kramer (TukeyHSD); pairs in R's order: B-A for levels A < B
tk <- TukeyHSD(fit, conf.level = 0.95)$arm
for (i in seq_len(nrow(tk))) {
  case <- paste0("tukey:", rownames(tk)[i])
  put(case, "diff", tk[i, "diff"]); put(case, "lwr", tk[i, "lwr"])
  put(case, "upr", tk[i, "upr"]); put(case, "p_adj", tk[i, "p adj"])
}
## Fisher LSD t tests with the pooled MSE, then Sidak / Holm-Sidak / Bonferroni by formula
mse <- tab[2, "Mean Sq"]; dfw <- tab[2, "Df"]
lv <- levels(oneway$arm); m <- tapply(oneway$volume, oneway$arm, mean)
n <- tapply(oneway$volume, oneway$arm, length)
holm_sidak <- function(p) {
  k <- length(p); o <- order(p); adj <- numeric(k)
  adj[o] <- cummax(1 - (1 - p[o])^(k - seq_len(k) + 1)); pmin(adj, 1)
}
family <- function(pairs, name) {
  d <- se <- t <- p <- numeric(length(pairs))
  for (i in seq_along(pairs)) {
    a <- pairs[[i]][1]; b <- pairs[[i]][2]
    d[i] <- m[b] - m[a]; se[i] <- sqrt(mse * (1 / n[a] + 1 / n[b]))
    t[i] <- d[i] / se[i]; p[i] <- 2 * pt(-abs(t[i]), dfw)
  }
  k <- length(pairs)
  sid <- 1 - (1 - p)^k; bon <- p.adjust(p, "bonferroni"); hs <- holm_sidak(p)
  qs <- qt(1 - (1 - 0.95^(1 / k)) / 2, dfw); qb <- qt(1 - 0.05 / (2 * k), dfw)
  for (i in seq_along(pairs)) {
    case <- paste0(name, ":", pairs[[i]][2], "-", pairs[[i]][1])
    put(case, "diff", d[i]); put(case, "t", t[i]); put(case, "p_unadj", p[i])
    put(case, "p_sidak", sid[i]); put(case, "p_bonferroni", bon[i])
    put(case, "p_holm_sidak", hs[i]); put(case, "p_holm", p.adjust(p, "holm")[i])
    put(case, "sidak_lower", d[i] - qs * se[i]); put(case, "sidak_upper", d[i] + qs * se[i])
    put(case, "bonf_lower", d[i] - qb * se[i]); put(case, "bonf_upper", d[i] + qb * se[i])
  }
}
family(combn(lv, 2, simplify = FALSE), "lsd_all")
family(lapply(lv[-1], function(b) c("vehicle", b)), "lsd_control")
## Dunnett (vs vehicle), single-step multivariate t.  Deterministic value: Dunnett's
## one-factor integral (hand computation, base R; correlations lambda_i * lambda_j with
## lambda_i = sqrt(n_i / (n_i + n_0))); cross-check: multcomp::glht with mvtnorm's
## randomised GenzBretz algorithm at abseps 1e-8 (set.seed(1)).
lam <- sqrt(n[-1] / (n[-1] + n[1]))
pdun <- function(q) integrate(function(s) sapply(s, function(si) {
  dens <- exp(log(2) + (dfw / 2) * log(dfw / 2) - lgamma(dfw / 2) + (dfw - 1) * log(si) -
                dfw * si^2 / 2)
  inner <- integrate(function(z) dnorm(z) * apply(sapply(lam, function(l)
    pnorm((q * si + l * z) / sqrt(1 - l^2)) - pnorm((-q * si + l * z) / sqrt(1 - l^2))), 1,
    prod), -Inf, Inf, rel.tol = 1e-12)$value
  dens * inner }), 0, Inf, rel.tol = 1e-11)$value
crit <- uniroot(function(q) pdun(q) - 0.95, c(1.5, 5), tol = 1e-12)$root
put("dunnett", "critical_value", crit)
g <- glht(fit, linfct = mcp(arm = "Dunnett"))
set.seed(1)
sg <- summary(g, test = adjusted("single-step",
                                 algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-8)))
tt <- sg$test$tstat
for (i in seq_along(tt)) {
  case <- paste0("dunnett:", lv[i + 1], "-vehicle")
  put(case, "diff", sg$test$coefficients[i]); put(case, "t", tt[i])
  put(case, "p_adj", 1 - pdun(abs(tt[i])))
  put(case, "multcomp_p_adj", sg$test$pvalues[i])
  put(case, "lower", sg$test$coefficients[i] - crit * sg$test$sigma[i])
  put(case, "upper", sg$test$coefficients[i] + crit * sg$test$sigma[i])
}
## Welch ANOVA too (oneway.test)
put_htest("oneway_welch", oneway.test(volume ~ arm, data = oneway))

## ------------------------------------------------------------ Kruskal-Wallis + Dunn
put_htest("kruskal", kruskal.test(score ~ group, data = kw))
## Dunn (1964) z with the tie correction, by formula (dunn.test is GPL: not used)
r <- rank(kw$score); N <- length(r); tt_ <- table(kw$score)
s2 <- N * (N + 1) / 12 - sum(tt_^3 - tt_) / (12 * (N - 1))
rb <- tapply(r, kw$group, mean); nk <- tapply(r, kw$group, length)
kl <- levels(kw$group); prs <- combn(kl, 2, simplify = FALSE)
zs <- sapply(prs, function(p) (rb[p[2]] - rb[p[1]]) / sqrt(s2 * (1 / nk[p[1]] + 1 / nk[p[2]])))
ps <- 2 * pnorm(-abs(zs))
for (i in seq_along(prs)) {
  case <- paste0("dunn:", prs[[i]][2], "-", prs[[i]][1])
  put(case, "mean_rank_diff", rb[prs[[i]][2]] - rb[prs[[i]][1]]); put(case, "z", zs[i])
  put(case, "p_unadj", ps[i]); put(case, "p_bonferroni", p.adjust(ps, "bonferroni")[i])
}

## --------------------------------------------------------------------- two-way
a2 <- summary(aov(response ~ drug * genotype, data = twoway))[[1]]
for (term in c("drug", "genotype", "drug:genotype", "Residuals")) {
  i <- which(trimws(rownames(a2)) == term)
  put(paste0("twoway:", term), "df", a2[i, "Df"]); put(paste0("twoway:", term), "ss", a2[i, "Sum Sq"])
  if (term != "Residuals") {
    put(paste0("twoway:", term), "F", a2[i, "F value"]); put(paste0("twoway:", term), "p_value", a2[i, "Pr(>F)"])
  }
}
## unbalanced: type III sums of squares with sum-to-zero contrasts (Prism's approach)
lmu <- lm(response ~ drug * genotype, data = twoway_unbal,
          contrasts = list(drug = "contr.sum", genotype = "contr.sum"))
d1 <- drop1(lmu, . ~ ., test = "F")
for (term in c("drug", "genotype", "drug:genotype")) {
  put(paste0("twoway_unbal:", term), "df", d1[term, "Df"])
  put(paste0("twoway_unbal:", term), "ss", d1[term, "Sum of Sq"])
  put(paste0("twoway_unbal:", term), "F", d1[term, "F value"])
  put(paste0("twoway_unbal:", term), "p_value", d1[term, "Pr(>F)"])
}
put("twoway_unbal:Residuals", "df", lmu$df.residual)
put("twoway_unbal:Residuals", "ss", sum(residuals(lmu)^2))

## ---------------------------------------------------------- repeated measures
rma <- summary(aov(value ~ condition + Error(subject / condition), data = rm))
w <- rma[["Error: subject:condition"]][[1]]
put("rm_anova", "F", w[1, "F value"]); put("rm_anova", "df1", w[1, "Df"])
put("rm_anova", "df2", w[2, "Df"]); put("rm_anova", "p_value", w[1, "Pr(>F)"])
put("rm_anova", "ss_condition", w[1, "Sum Sq"]); put("rm_anova", "ss_error", w[2, "Sum Sq"])
put("rm_anova", "ss_subject", rma[["Error: subject"]][[1]][1, "Sum Sq"])
## Greenhouse-Geisser epsilon by formula: covariance of orthonormal contrasts
Y <- matrix(rm$value, nrow = 4, byrow = TRUE)
C <- contr.poly(3); S <- t(C) %*% cov(Y) %*% C
eps <- sum(diag(S))^2 / (2 * sum(S * S))
put("rm_anova", "gg_epsilon", eps)
put("rm_anova", "gg_p_value", pf(w[1, "F value"], eps * w[1, "Df"], eps * w[2, "Df"],
                                 lower.tail = FALSE))
## the same epsilon from anova.mlm (Greenhouse-Geisser)
mlm <- lm(Y ~ 1)
av <- anova(mlm, X = ~1, test = "Spherical", idata = data.frame(c = factor(1:3)))
put("rm_anova", "mlm_gg_p_value", av[2, "G-G Pr"])
put_htest("friedman", friedman.test(Y))
## Friedman with ties within a subject
Yt <- rbind(c(1, 2, 2), c(3, 1, 2), c(1, 3, 2), c(2, 2, 3), c(1, 2, 3))
put_htest("friedman_ties", friedman.test(Yt))
write.csv(data.frame(subject = rep(1:5, each = 3), condition = rep(c("A", "B", "C"), 5),
                     value = as.vector(t(Yt))), "friedman_ties.csv", row.names = FALSE)

## -------------------------------------------------------------------- survival
for (ex in c("E1", "all")) {
  sd_ <- if (ex == "all") surv else surv[surv$experiment == ex, ]
  km <- survfit(Surv(time, event) ~ arm, data = sd_, conf.type = "log")
  s <- summary(km, censored = TRUE)
  grp <- sub("arm=", "", as.character(s$strata))
  for (i in seq_along(s$time)) {
    case <- sprintf("km_%s:%s:%g", ex, grp[i], s$time[i])
    put(case, "n_risk", s$n.risk[i]); put(case, "n_event", s$n.event[i])
    put(case, "surv", s$surv[i]); put(case, "std_err", s$std.err[i])
    put(case, "lower", s$lower[i]); put(case, "upper", s$upper[i])
  }
  q <- quantile(km, probs = 0.5)
  for (i in seq_len(nrow(q$quantile))) {
    case <- sprintf("median_%s:%s", ex, sub("arm=", "", rownames(q$quantile)[i]))
    put(case, "median", q$quantile[i, 1]); put(case, "lower", q$lower[i, 1])
    put(case, "upper", q$upper[i, 1])
  }
  ## three-arm log-rank
  sdf <- survdiff(Surv(time, event) ~ arm, data = sd_)
  put(paste0("logrank3_", ex), "chisq", sdf$chisq)
  put(paste0("logrank3_", ex), "p_value", pchisq(sdf$chisq, 2, lower.tail = FALSE))
  put(paste0("logrank3_", ex), "observed", sdf$obs); put(paste0("logrank3_", ex), "expected", sdf$exp)
  ## two arms: drug vs vehicle
  s2d <- droplevels(sd_[sd_$arm != "combo", ])
  sdf <- survdiff(Surv(time, event) ~ arm, data = s2d)
  put(paste0("logrank2_", ex), "chisq", sdf$chisq)
  put(paste0("logrank2_", ex), "p_value", pchisq(sdf$chisq, 1, lower.tail = FALSE))
  put(paste0("logrank2_", ex), "observed", sdf$obs); put(paste0("logrank2_", ex), "expected", sdf$exp)
  ## hazard ratio drug / vehicle: Cox (Efron ties, R's default), Wald CI
  cx <- coxph(Surv(time, event) ~ arm, data = s2d)
  ci <- exp(confint(cx))
  put(paste0("cox_", ex), "hr", exp(coef(cx))); put(paste0("cox_", ex), "lower", ci[1])
  put(paste0("cox_", ex), "upper", ci[2]); put(paste0("cox_", ex), "wald_p", summary(cx)$waldtest["pvalue"])
  cxb <- coxph(Surv(time, event) ~ arm, data = s2d, ties = "breslow")
  put(paste0("cox_breslow_", ex), "hr", exp(coef(cxb)))
  ## Mantel-Haenszel (logrank) hazard ratio as Prism reports it, from survdiff's O, E, V
  O <- sdf$obs[2]; E <- sdf$exp[2]; V <- sdf$var[2, 2]
  put(paste0("hr_mh_", ex), "hr", exp((O - E) / V))
  put(paste0("hr_mh_", ex), "lower", exp((O - E) / V - qnorm(0.975) / sqrt(V)))
  put(paste0("hr_mh_", ex), "upper", exp((O - E) / V + qnorm(0.975) / sqrt(V)))
  put(paste0("hr_logrank_", ex), "hr", (sdf$obs[2] / sdf$exp[2]) / (sdf$obs[1] / sdf$exp[1]))
}
## stratified log-rank (by experiment), three arms and two arms
sdf <- survdiff(Surv(time, event) ~ arm + strata(experiment), data = surv)
put("logrank3_strat", "chisq", sdf$chisq)
put("logrank3_strat", "p_value", pchisq(sdf$chisq, 2, lower.tail = FALSE))
s2d <- droplevels(surv[surv$arm != "combo", ])
sdf <- survdiff(Surv(time, event) ~ arm + strata(experiment), data = s2d)
put("logrank2_strat", "chisq", sdf$chisq)
put("logrank2_strat", "p_value", pchisq(sdf$chisq, 1, lower.tail = FALSE))
cx <- coxph(Surv(time, event) ~ arm + strata(experiment), data = s2d)
put("cox_strat", "hr", exp(coef(cx))); put("cox_strat", "lower", exp(confint(cx))[1])
put("cox_strat", "upper", exp(confint(cx))[2])

write.csv(out, "reference.csv", row.names = FALSE)
cat(sprintf("%d values written\n", nrow(out)))
