package server_test

// brainstem is a row of BrainSTEM's users endpoint; route is the pattern the path
// reaches. Its callers send their keys as "Authorization: Bearer", as BrainSTEM's
// clients send their tokens.
func brainstem(method, route, path, body, cells string) row {
	return row{surface: "brainstem", route: route, method: method, path: path, body: body, cells: cells}
}

// Cells of BrainSTEM's public portal: the anonymous view to everyone, but a credential
// that does not hold is refused, as Django REST framework authenticates first.
const bsPublicRefused = "401 401 401 401"
