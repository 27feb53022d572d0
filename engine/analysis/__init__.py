"""Looking at a point or a slice: surfaces and contours, gradients checked, the Hessian, curvature,
stationary points, steps.  Qt-free."""
