package bulk

// InCanary is inCanary, for the tests outside the package.
var InCanary = inCanary
