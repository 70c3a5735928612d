// Package api turns API Gateway REST API proxy events into JSON responses.
//
// The event and response types are our own small copies of the documented
// Lambda proxy integration format: the module uses the standard library only,
// so aws-lambda-go's events package is not available.
package api

// ProxyRequest is the event API Gateway (REST API, Lambda proxy integration)
// sends to the function. Only the fields this function reads are declared;
// encoding/json ignores the others.
type ProxyRequest struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"`
	RequestContext                  ProxyRequestContext `json:"requestContext"`
	Body                            string              `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
}

// ProxyRequestContext is the requestContext object of a proxy event.
type ProxyRequestContext struct {
	AccountID    string `json:"accountId"`
	APIID        string `json:"apiId"`
	ResourceID   string `json:"resourceId"`
	ResourcePath string `json:"resourcePath"`
	Stage        string `json:"stage"`
	RequestID    string `json:"requestId"`
	HTTPMethod   string `json:"httpMethod"`
	Path         string `json:"path"`
}

// ProxyResponse is what the function returns to API Gateway. API Gateway
// answers 502 when statusCode is missing, so it is never omitted.
type ProxyResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers,omitempty"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}
