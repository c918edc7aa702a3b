#!/usr/bin/env Rscript
## Independent reference fits of drc's LL.4 model for tests/data/mixed300/curves.csv.
##
## Base R (stats) only: the R package drc is not used (it is not available here).
## For every curve this script
##   1. emulates what drc 3.0-1's drm(response ~ dose, fct = LL.4()) does
##      (scaling of dose and response by powers of ten, the default self starter
##      llogistic.ssf(method = "1"), optim(method = "BFGS", maxit = 500,
##      reltol = 1e-7, parscale = abs(start)) without derivatives);
##   2. finds the least-squares optimum with a multi-start search
##      (Levenberg-Marquardt from a grid of starts, the drc self-start and the
##      drc-like solution; then Nelder-Mead -> BFGS with analytic gradient ->
##      Levenberg-Marquardt from the three best) and keeps the lowest RSS;
##   3. at that optimum computes drc's covariance for continuous data,
##      vcov = solve(H / (2 * s2)), H the (exact, analytic) Hessian of the RSS
##      in (b, c, d, e),
##      s2 = RSS / (n - 4); relative ED10/ED50/ED90 with delta-method SEs and
##      t-based 95% intervals (drc's ED(..., interval = "delta")); logLik and AIC.
##
## Usage (from the repository root or this folder):
##   Rscript tests/data/mixed300/fit_reference.R [curves.csv] [expected_r.csv]
## Writes expected_r.csv next to this script unless an output path is given.
## Tests never run this script; they read expected_r.csv.

options(warn = -1)

script_dir <- local({
  a <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", a[grepl("^--file=", a)])
  if (length(f) == 1) dirname(normalizePath(f)) else getwd()
})
args <- commandArgs(trailingOnly = TRUE)
in_path <- if (length(args) >= 1) args[1] else file.path(script_dir, "curves.csv")
out_path <- if (length(args) >= 2) args[2] else file.path(script_dir, "expected_r.csv")

## ------------------------------------------------------------------ model

## LL.4 in drc's parameterisation, b > 0 decreasing:
##   f(x) = c + (d - c) / (1 + exp(b * (log(x) - log(e))))
ll4 <- function(x, b, c, d, e) c + (d - c) / (1 + exp(b * (log(x) - log(e))))

rss_bcde <- function(p, x, y) sum((y - ll4(x, p[1], p[2], p[3], p[4]))^2)

## gradient of the RSS in (b, c, d, e)
grad_bcde <- function(p, x, y) {
  b <- p[1]; c <- p[2]; d <- p[3]; e <- p[4]
  z <- b * (log(x) - log(e))
  s <- plogis(-z)                      # 1 / (1 + exp(z))
  r <- y - (c + (d - c) * s)
  ds <- s * (1 - s)
  J <- cbind(-(d - c) * ds * (log(x) - log(e)), 1 - s, s, (d - c) * ds * b / e)
  as.vector(-2 * crossprod(J, r))
}

## exact Hessian of the RSS in (b, c, d, e):
##   H = 2 * (J'J - sum_i r_i * d2f_i), with s = 1 / (1 + exp(z)), z = b * (log x - log e),
##   s1 = ds/dz = -s(1 - s), s2 = d2s/dz2 = s(1 - s)(1 - 2s), D = d - c
hess_bcde <- function(p, x, y) {
  b <- p[1]; c <- p[2]; d <- p[3]; e <- p[4]
  u <- log(x) - log(e)
  s <- plogis(-b * u)
  s1 <- -s * (1 - s)
  s2 <- s * (1 - s) * (1 - 2 * s)
  D <- d - c
  r <- y - (c + D * s)
  J <- cbind(D * s1 * u, 1 - s, s, -D * s1 * b / e)
  f_bb <- D * s2 * u^2
  f_bc <- -s1 * u
  f_bd <- s1 * u
  f_be <- -D / e * (s2 * b * u + s1)
  f_ce <- s1 * b / e
  f_de <- -s1 * b / e
  f_ee <- D * b / e^2 * (s2 * b + s1)
  S <- matrix(0, 4, 4)
  S[1, 1] <- sum(r * f_bb)
  S[1, 2] <- S[2, 1] <- sum(r * f_bc)
  S[1, 3] <- S[3, 1] <- sum(r * f_bd)
  S[1, 4] <- S[4, 1] <- sum(r * f_be)
  S[2, 4] <- S[4, 2] <- sum(r * f_ce)
  S[3, 4] <- S[4, 3] <- sum(r * f_de)
  S[4, 4] <- sum(r * f_ee)
  2 * (crossprod(J) - S)
}

## residuals and Jacobian in theta = (b, c, d, log e), numerically stable
res_jac <- function(th, lx, y) {
  b <- th[1]; c <- th[2]; d <- th[3]; le <- th[4]
  u <- lx - le
  s <- plogis(-b * u)
  r <- y - (c + (d - c) * s)
  ds <- s * (1 - s)
  J <- cbind(-(d - c) * ds * u, 1 - s, s, (d - c) * ds * b)
  list(r = r, J = J, rss = sum(r^2))
}
rss_theta <- function(th, lx, y) {
  v <- sum((y - (th[2] + (th[3] - th[2]) * plogis(-th[1] * (lx - th[4]))))^2)
  if (is.finite(v)) v else Inf
}
grad_theta <- function(th, lx, y) {
  rj <- res_jac(th, lx, y)
  as.vector(-2 * crossprod(rj$J, rj$r))
}

## ------------------------------------------------------ 1. drc-like fit

## drc 3.0-1, drm() with fct = LL.4(), type = "continuous", default drmc():
##  * doses and responses are divided by 10^floor(log10(median(.))) (1 if that
##    is NA or < 1e-15); parameters c, d are on the response scale, e on the dose
##    scale, b unscaled; the RSS is computed on the scaled data and multiplied
##    back by respScaling^2;
##  * self starter llogistic.ssf(method = "1"): findcd() puts c and d 0.1 % of
##    the response range below the minimum and above the maximum; findbe1()
##    regresses log((d - y) / (y - c)) on log(x) (x > 0): b = slope,
##    e = exp(-intercept / b);
##  * optim(start, RSS, method = "BFGS", hessian = TRUE,
##          control = list(maxit = 500, reltol = 1e-7, parscale = ps)),
##    ps = abs(start) with entries < 1e-4 set to 1; no analytic gradient
##    (drmc(useD = FALSE)). drc only reports a failure when optim() stops with
##    an error; here an optim() convergence code != 0 also counts as "not
##    converged" (the column drc_like_status tells them apart).
drc_like_fit <- function(x, y) {
  out <- list(start = rep(NA_real_, 4), par = rep(NA_real_, 4), value = NA_real_,
              code = NA_integer_, error = "", se = rep(NA_real_, 4))
  ds <- 10^floor(log10(median(x)))
  if (is.na(ds) || ds < 1e-15) ds <- 1
  rs <- 10^floor(log10(median(y)))
  if (is.na(rs) || rs < 1e-15) rs <- 1
  xs <- x / ds
  ys <- y / rs
  ## findcd
  yr <- range(ys)
  inc <- 0.001 * diff(yr)
  cS <- yr[1] - inc
  dS <- yr[2] + inc
  ## findbe1
  lx <- log(xs)
  lx[!(xs > 0) | !is.finite(xs)] <- NA
  ty <- log((dS - ys) / (ys - cS))
  cf <- coef(lm(ty ~ lx))
  bS <- unname(cf[2])
  eS <- unname(exp(-cf[1] / bS))
  start <- c(bS, cS, dS, eS)
  out$start <- start * c(1, rs, rs, ds)
  ps <- abs(start)
  ps[ps < 1e-4] <- 1
  opfct <- function(p) sum((ys - (p[2] + (p[3] - p[2]) / (1 + exp(p[1] * log(xs / p[4])))))^2)
  fit <- try(optim(start, opfct, method = "BFGS", hessian = TRUE,
                   control = list(maxit = 500, reltol = 1e-7, parscale = ps)),
             silent = TRUE)
  if (inherits(fit, "try-error")) {
    out$error <- gsub("[\r\n,]+", " ", trimws(as.character(attr(fit, "condition")$message)))
    return(out)
  }
  L <- c(1, rs, rs, ds)
  out$par <- fit$par * L
  out$value <- opfct(fit$par) * rs^2
  out$code <- as.integer(fit$convergence)
  ## what drc would report: optim's Hessian scaled back, vcov = solve(H / (2 * s2))
  H <- fit$hessian / outer(L / rs, L / rs)
  V <- tryCatch(solve(H / (2 * out$value / (length(y) - 4))), error = function(e) NULL)
  if (!is.null(V)) out$se <- ifelse(diag(V) > 0, sqrt(pmax(diag(V), 0)), NA_real_)
  out
}

## -------------------------------------------------- 2. best LS solution

## Levenberg-Marquardt in theta = (b, c, d, log e)
lm_polish <- function(th, lx, y, maxit = 2000) {
  cur <- res_jac(th, lx, y)
  if (!is.finite(cur$rss)) return(list(par = th, value = Inf))
  lambda <- 1e-3
  for (it in seq_len(maxit)) {
    JtJ <- crossprod(cur$J)
    g <- crossprod(cur$J, cur$r)
    dg <- diag(JtJ)
    dg <- pmax(dg, 1e-12 * max(dg), 1e-300)
    accepted <- FALSE
    for (k in 1:40) {
      step <- tryCatch(solve(JtJ + lambda * diag(dg), g), error = function(e) NULL)
      if (!is.null(step) && all(is.finite(step))) {
        nth <- th + as.vector(step)
        nxt <- res_jac(nth, lx, y)
        if (is.finite(nxt$rss) && nxt$rss <= cur$rss) {
          accepted <- TRUE
          break
        }
      }
      lambda <- lambda * 10
      if (lambda > 1e16) break
    }
    if (!accepted) break
    dec <- cur$rss - nxt$rss
    rel_step <- max(abs(step) / (abs(th) + 1e-8))
    th <- nth
    cur <- nxt
    lambda <- max(lambda / 10, 1e-15)
    if (dec <= 1e-15 * cur$rss && rel_step < 1e-10) break
  }
  list(par = th, value = cur$rss)
}

polish_from <- function(th0, lx, y) {
  best <- list(par = th0, value = rss_theta(th0, lx, y))
  keep <- function(p) {
    v <- rss_theta(p, lx, y)
    if (is.finite(v) && v < best$value) best <<- list(par = p, value = v)
  }
  nm <- try(optim(th0, rss_theta, lx = lx, y = y, method = "Nelder-Mead",
                  control = list(maxit = 4000, reltol = 1e-14)), silent = TRUE)
  if (!inherits(nm, "try-error")) keep(nm$par)
  bf <- try(optim(best$par, rss_theta, grad_theta, lx = lx, y = y, method = "BFGS",
                  control = list(maxit = 2000, reltol = 1e-15)), silent = TRUE)
  if (!inherits(bf, "try-error")) keep(bf$par)
  lmf <- lm_polish(best$par, lx, y)
  keep(lmf$par)
  best
}

best_fit <- function(x, y, drc_like) {
  lx <- log(x)
  ybar <- tapply(y, x, mean)
  lo <- min(ybar)
  hi <- max(ybar)
  starts <- list()
  if (all(is.finite(drc_like$start)) && drc_like$start[4] > 0)
    starts[[length(starts) + 1]] <- c(drc_like$start[1:3], log(drc_like$start[4]))
  if (all(is.finite(drc_like$par)) && drc_like$par[4] > 0)
    starts[[length(starts) + 1]] <- c(drc_like$par[1:3], log(drc_like$par[4]))
  le_grid <- seq(log(min(x)) - log(3), log(max(x)) + log(3), length.out = 11)
  for (b0 in c(0.5, 1, 2, 5, -1)) for (le0 in le_grid)
    starts[[length(starts) + 1]] <- c(b0, lo, hi, le0)
  ## phase 1: Levenberg-Marquardt from every start
  lm_fits <- lapply(starts, function(s) lm_polish(s, lx, y, maxit = 500))
  vals <- vapply(lm_fits, function(f) f$value, numeric(1))
  vals[!is.finite(vals)] <- Inf
  ## phase 2: Nelder-Mead -> BFGS -> Levenberg-Marquardt from the 3 best
  best <- list(par = NULL, value = Inf)
  for (j in head(order(vals), 3)) {
    f <- polish_from(lm_fits[[j]]$par, lx, y)
    if (is.finite(f$value) && f$value < best$value) best <- f
  }
  th <- best$par
  ## canonical form: c is the lower asymptote; b < 0 means an increasing curve
  if (th[2] > th[3]) th <- c(-th[1], th[3], th[2], th[4])
  p <- c(th[1:3], exp(th[4]))
  list(par = p, value = rss_bcde(p, x, y), value_theta = best$value)
}

## ------------------------------------------- 3. drc's vcov, ED, logLik

## drc's ED() for relative ED levels: p is swapped to 100 - p for b < 0
## (reference = "control"); ED_p = e * (p / (100 - p))^(1 / b)
ed_delta <- function(p, par, V, df) {
  b <- par[1]; e <- par[4]
  pp <- if (b < 0) 100 - p else p
  ed <- e * (pp / (100 - pp))^(1 / b)
  g <- c(-ed * log(pp / (100 - pp)) / b^2, 0, 0, ed / e)
  se <- if (is.null(V)) NA_real_ else sqrt(as.numeric(t(g) %*% V %*% g))
  q <- qt(0.975, df)
  c(ed = ed, se = se, lower = ed - q * se, upper = ed + q * se)
}

inference <- function(x, y, par) {
  n <- length(y)
  df <- n - 4
  rss <- rss_bcde(par, x, y)
  s2 <- rss / df
  H <- hess_bcde(par, x, y)
  ## cross-check of the analytic Hessian: optimHess on the analytic gradient
  ps <- abs(par)
  ps[ps < 1e-3] <- 1
  H_fd <- tryCatch(optimHess(par, rss_bcde, grad_bcde, x = x, y = y,
                             control = list(parscale = ps, ndeps = rep(1e-5, 4))),
                   error = function(e) matrix(NA_real_, 4, 4))
  fd_diff <- max(abs(H - H_fd)) / max(abs(H))
  finite_H <- all(is.finite(H))
  ev <- if (finite_H) eigen(H, symmetric = TRUE, only.values = TRUE)$values else NA_real_
  hessian_ok <- finite_H && min(ev) > 0 &&
    !inherits(try(chol(H), silent = TRUE), "try-error")
  V <- if (finite_H) tryCatch(solve(H / (2 * s2)), error = function(e) NULL) else NULL
  se <- if (is.null(V)) rep(NA_real_, 4) else {
    dv <- diag(V)
    ifelse(dv > 0, sqrt(pmax(dv, 0)), NA_real_)
  }
  if (!hessian_ok) V_ed <- NULL else V_ed <- V
  loglik <- -n / 2 * (log(2 * pi) + log(rss / n) + 1)
  list(n = n, df = df, rss = rss, s2 = s2, H = H, hessian_ok = hessian_ok, fd_diff = fd_diff,
       cond = if (all(is.finite(ev)) && min(abs(ev)) > 0) max(abs(ev)) / min(abs(ev)) else Inf,
       se = se, ed10 = ed_delta(10, par, V_ed, df), ed50 = ed_delta(50, par, V_ed, df),
       ed90 = ed_delta(90, par, V_ed, df), loglik = loglik, aic = -2 * loglik + 2 * (4 + 1))
}

## ------------------------------------------------------------------ main

dat <- read.csv(in_path, stringsAsFactors = FALSE)
curves <- unique(dat$curve)
rows <- vector("list", length(curves))
t0 <- proc.time()[["elapsed"]]
for (i in seq_along(curves)) {
  cid <- curves[i]
  sub <- dat[dat$curve == cid, ]
  x <- sub$dose
  y <- sub$response
  dl <- drc_like_fit(x, y)
  conv <- is.finite(dl$value) && all(is.finite(dl$par)) && !is.na(dl$code) &&
    dl$code == 0L && dl$par[4] > 0
  status <- if (nzchar(dl$error)) paste("error:", dl$error) else
    if (!is.na(dl$code) && dl$code != 0L) paste0("optim convergence code ", dl$code) else
      if (!conv) "non-finite or e <= 0" else "ok"
  bf <- best_fit(x, y, dl)
  p <- bf$par
  inf <- inference(x, y, p)
  well <- inf$hessian_ok && all(is.finite(inf$se)) && abs(p[1]) <= 20 &&
    p[4] >= min(x) / 10 && p[4] <= max(x) * 10 && inf$se[4] < p[4]
  rows[[i]] <- data.frame(
    curve = cid, n = inf$n, drc_like_converged = conv,
    rss_drc_like = dl$value, e_drc_like = dl$par[4],
    rss_best = inf$rss, b = p[1], c = p[2], d = p[3], e = p[4],
    se_b = inf$se[1], se_c = inf$se[2], se_d = inf$se[3], se_e = inf$se[4],
    ed10 = inf$ed10[["ed"]], ed10_lower = inf$ed10[["lower"]], ed10_upper = inf$ed10[["upper"]],
    ed50_lower = inf$ed50[["lower"]], ed50_upper = inf$ed50[["upper"]],
    ed90 = inf$ed90[["ed"]], ed90_lower = inf$ed90[["lower"]], ed90_upper = inf$ed90[["upper"]],
    aic = inf$aic, hessian_ok = inf$hessian_ok,
    ## extra columns
    kind = sub$kind[1], drc_like_status = status,
    b_drc_like = dl$par[1], c_drc_like = dl$par[2], d_drc_like = dl$par[3],
    se_b_drc_like = dl$se[1], se_c_drc_like = dl$se[2], se_d_drc_like = dl$se[3],
    se_e_drc_like = dl$se[4],
    b_start = dl$start[1], c_start = dl$start[2], d_start = dl$start[3], e_start = dl$start[4],
    ed50 = inf$ed50[["ed"]], se_ed10 = inf$ed10[["se"]], se_ed50 = inf$ed50[["se"]],
    se_ed90 = inf$ed90[["se"]], loglik = inf$loglik, df_residual = inf$df,
    sigma = sqrt(inf$s2), hessian_cond = inf$cond, hessian_fd_reldiff = inf$fd_diff,
    well_determined = well,
    stringsAsFactors = FALSE)
  if (i %% 50 == 0)
    message(sprintf("%d/%d curves (%.0f s)", i, length(curves), proc.time()[["elapsed"]] - t0))
}
res <- do.call(rbind, rows)

## 15 significant digits for every double column
fmt <- res
for (nm in names(fmt)) {
  v <- fmt[[nm]]
  if (is.double(v)) {
    s <- sprintf("%.15g", v)
    s[is.na(v)] <- NA
    fmt[[nm]] <- s
  }
}
write.csv(fmt, out_path, row.names = FALSE, quote = FALSE, na = "")
message(sprintf("wrote %s (%d curves) with %s", out_path, nrow(res), R.version.string))
